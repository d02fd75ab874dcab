/* cfg validation: every bad input gets an error naming the file, line or key, instead of
 * Darknet's exit(0), assert or crash; every classifier cfg Debian ships loads; the
 * [gcam] section is read by us and hidden from Darknet. */
#include "check.h"
#include "testutil.h"

#define NET "[net]\nbatch=2\nheight=16\nwidth=16\nchannels=3\n"
#define CONV "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"

typedef struct bad_cfg {
    const char *text;
    const char *fragments[3]; /* each must appear in the message */
} bad_cfg;

static const bad_cfg bad_cfgs[] = {
    {"", {"no sections"}},
    {CONV NET, {":1:", "first section must be [net]"}},
    {"batch=1\n" NET CONV, {":1:", "before any [section]"}},
    {NET "height\n" CONV, {":6:", "expected 'key=value'"}},
    {NET "[convolutional\n", {":6:", "malformed section"}},
    {NET CONV "[frobnicate]\n", {":11:", "[frobnicate]", "not a known section"}},
    {NET CONV "[yolo]\n", {":11:", "does not support"}},
    {NET "[convolutional]\nfilterz=4\n", {":7:", "unknown key 'filterz'"}},
    {NET "[convolutional]\nfilters=4\nstride=0\n", {":8:", "stride=0", "out of range"}},
    {NET "[convolutional]\nfilters=four\n", {":7:", "filters=four", "not an integer"}},
    {NET "[convolutional]\nfilters=4\nactivation=relu6\n", {":8:", "activation", "one of"}},
    {NET "[convolutional]\nfilters=4\nfilters=5\n", {":8:", "repeated"}},
    {NET "[convolutional]\nfilters=4\nbinary=1\n", {":8:", "binary", "not supported"}},
    {NET "[convolutional]\nfilters=4\ndontload=1\n", {"dontload", "weights layout"}},
    {NET "[convolutional]\nfilters=6\ngroups=4\nsize=3\n", {"groups=4", "divide"}},
    {NET "[convolutional]\nfilters=6\nsize=33\n", {"size=33", "larger"}},
    {"[net]\nbatch=2\nsubdivisions=0\nheight=16\nwidth=16\nchannels=3\n" CONV,
     {":3:", "subdivisions=0", "out of range"}},
    {"[net]\nbatch=5\nsubdivisions=2\nheight=16\nwidth=16\nchannels=3\n" CONV,
     {"batch=5", "multiple of subdivisions=2"}},
    {"[net]\nbatch=2\nheight=16\nchannels=3\n" CONV, {"height, width and channels"}},
    {"[net]\nbatch=2\nheight=16\nwidth=16\nchannels=3\nadam=1\n" CONV, {":6:", "adam=1"}},
    {"[net]\nbatch=2\nheight=16\nwidth=16\nchannels=3\npolicy=steps\nsteps=10,20\n" CONV,
     {"steps", "scales"}},
    {"[net]\nbatch=2\nheight=16\nwidth=16\nchannels=3\npolicy=steps\nsteps=10,20\n"
     "scales=.1\n" CONV,
     {"steps has 2 entries but scales has 1"}},
    {"[net]\nbatch=2\nheight=16\nwidth=16\nchannels=3\npolicy=sometimes\n" CONV,
     {"policy=sometimes", "one of"}},
    {NET CONV "[route]\nlayers=-5\n", {":11:", "not an earlier layer"}},
    {NET CONV "[route]\n", {"needs layers="}},
    {NET CONV "[route]\nlayers=3\n", {"refers to layer 3"}},
    {NET CONV "[shortcut]\n", {"needs from="}},
    {NET CONV "[convolutional]\nfilters=4\nsize=3\nstride=3\n[shortcut]\nfrom=-2\n",
     {"cannot add layer 0"}},
    {NET CONV CONV "[maxpool]\nsize=2\nstride=2\n[route]\nlayers=-1,-2\n", {"differ in size"}},
    {NET "[softmax]\ngroups=7\n", {"groups=7", "divide"}},
    {NET CONV "[softmax]\ntree=data/9k.tree\n", {"tree", "not supported"}},
    {NET "[dropout]\n", {"cannot be the first layer"}},
    {NET, {"no layers"}},
    {NET NET CONV, {"second [net]"}},
    {NET CONV "[softmax]\n" CONV, {"needs an image input"}},
};

static void check_bad(const bad_cfg *b, int index) {
    char *path = temp_cfg(b->text);
    gcam_error err = {0};
    gcam_net *net = NULL;
    gcam_load_options opt = gcam_load_options_default();
    int status = gcam_net_load(&net, path, &opt, &err);
    CHECK(status != 0 && net == NULL, "case %d was accepted", index);
    CHECK_ERROR_MENTIONS(status, err, path);
    for (int i = 0; i < 3 && b->fragments[i]; ++i)
        CHECK_ERROR_MENTIONS(status, err, b->fragments[i]);
    gcam_net_free(net);
    unlink(path);
    free(path);
}

static void check_debian_cfgs(void) {
    static const char *const names[] = {
        "resnet18",    "resnet34",   "resnet50", "resnet101", "resnext50", "darknet19", "darknet53",
        "densenet201", "extraction", "tiny",     "alexnet",   "cifar",     NULL};
    for (int i = 0; names[i]; ++i) {
        char path[256];
        snprintf(path, sizeof path, "/usr/share/darknet/cfg/%s.cfg", names[i]);
        gcam_error err = {0};
        gcam_net *net = NULL;
        gcam_load_options opt = gcam_load_options_default();
        opt.batch = 1;
        int status = gcam_net_load(&net, path, &opt, &err);
        CHECK(status == 0, "%s: %s", names[i], err.message);
        if (status == 0)
            CHECK(net->classes == net->dn->outputs && net->dn->batch == 1, "%s: %d classes",
                  names[i], net->classes);
        gcam_net_free(net);
    }
}

static void check_gcam_section(void) {
    char *path =
        temp_cfg(NET "[gcam]\nsaliency = 1\nsaliency_every=10\n" CONV "[avgpool]\n[softmax]\n");
    gcam_error err = {0};
    gcam_net *net = NULL;
    gcam_load_options opt = gcam_load_options_default();
    opt.batch = 3;
    int status = gcam_net_load(&net, path, &opt, &err);
    CHECK(status == 0, "%s", err.message);
    gcam_settings settings;
    gcam_settings_default(&settings);
    CHECK(gcam_settings_read_cfg(&settings, path, &err) == 0, "%s", err.message);
    CHECK(settings.train.saliency_every == 10, "saliency_every=%ld", settings.train.saliency_every);
    CHECK(settings.train.saliency == 1, "a setting written with spaces was not read");
    if (status == 0) {
        /* Darknet saw only [net] + 3 layers, at the requested batch. */
        CHECK(net->dn->n == 3 && net->dn->batch == 3, "n=%d batch=%d", net->dn->n, net->dn->batch);
        CHECK(net->logits_layer == 1, "logits layer %d", net->logits_layer);
    }
    gcam_net_free(net);
    unlink(path);
    free(path);
}

int main(void) {
    gcam_error err = {0};
    gcam_net *net = NULL;
    int status = gcam_net_load(&net, "/nonexistent/model.cfg", NULL, &err);
    CHECK_ERROR_MENTIONS(status, err, "/nonexistent/model.cfg");
    CHECK_ERROR_MENTIONS(status, err, "cannot open cfg");
    {
        char *path = temp_file_with(NET "\0" CONV, sizeof(NET) + sizeof(CONV) - 1);
        status = gcam_net_load(&net, path, NULL, &err);
        CHECK_ERROR_MENTIONS(status, err, "NUL");
        unlink(path);
        free(path);
    }
    for (size_t i = 0; i < sizeof bad_cfgs / sizeof *bad_cfgs; ++i) check_bad(&bad_cfgs[i], (int)i);
    check_debian_cfgs();
    check_gcam_section();
    return check_summary("test_cfg");
}
