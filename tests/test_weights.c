/* Weights files: round trips, compatibility with Darknet in both directions (its
 * library's load_weights/save_weights and the stock /usr/bin/darknet program), both
 * header versions, partial loads, and every malformed-file error. */
#include "check.h"
#include "testutil.h"
#include "weights.h"

#include <sys/stat.h>

static const char small_cfg[] =
    "[net]\nbatch=1\nheight=8\nwidth=8\nchannels=3\n"
    "[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"
    "[convolutional]\nfilters=6\ngroups=2\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
    "[batchnorm]\n"
    "[connected]\noutput=5\nbatch_normalize=1\nactivation=leaky\n"
    "[connected]\noutput=3\nactivation=linear\n[softmax]\n";

/* Same trunk, a different head (3 -> 7 classes). */
static const char other_head_cfg[] =
    "[net]\nbatch=1\nheight=8\nwidth=8\nchannels=3\n"
    "[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"
    "[convolutional]\nfilters=6\ngroups=2\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
    "[batchnorm]\n"
    "[connected]\noutput=5\nbatch_normalize=1\nactivation=leaky\n"
    "[connected]\noutput=7\nactivation=linear\n[softmax]\n";

static gcam_net *load(const char *cfg, const char *weights, int layers, gcam_error *err) {
    gcam_load_options opt = gcam_load_options_default();
    opt.weights = weights;
    opt.weights_layers = layers;
    gcam_net *net = NULL;
    if (gcam_net_load(&net, cfg, &opt, err)) return NULL;
    return net;
}

/* Every parameter array of layers [0, n) equal, bit for bit. */
static int same_parameters(const network *a, const network *b, int n) {
    for (int i = 0; i < n; ++i) {
        const layer *x = &a->layers[i], *y = &b->layers[i];
        int ch = x->type == CONNECTED ? x->outputs : (x->type == BATCHNORM ? x->c : x->n);
        size_t nw = x->type == CONVOLUTIONAL ? (size_t)x->nweights
                    : x->type == CONNECTED   ? (size_t)x->inputs * x->outputs
                                             : 0;
        if (x->type != CONVOLUTIONAL && x->type != CONNECTED && x->type != BATCHNORM) continue;
        if (nw && memcmp(x->weights, y->weights, nw * 4)) return 0;
        if (x->type != BATCHNORM && memcmp(x->biases, y->biases, (size_t)ch * 4)) return 0;
        if (x->scales && (memcmp(x->scales, y->scales, (size_t)ch * 4) ||
                          memcmp(x->rolling_mean, y->rolling_mean, (size_t)ch * 4) ||
                          memcmp(x->rolling_variance, y->rolling_variance, (size_t)ch * 4)))
            return 0;
    }
    return 1;
}

static void randomize_all(network *dn, uint64_t seed) {
    gcam_rng rng = gcam_rng_init(seed, 3);
    randomize_parameters(dn, &rng);
    for (int i = 0; i < dn->n; ++i) {
        layer *l = &dn->layers[i];
        int ch = l->type == CONNECTED ? l->outputs : (l->type == BATCHNORM ? l->c : l->n);
        if (l->rolling_mean) fill_uniform(&rng, l->rolling_mean, (size_t)ch, -1, 1);
        if (l->rolling_variance) fill_uniform(&rng, l->rolling_variance, (size_t)ch, 0.5, 2);
        if (l->type == BATCHNORM) fill_uniform(&rng, l->scales, (size_t)ch, 0.5, 2);
    }
    *dn->seen = 123456789012ULL;
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void truncate_copy(const char *src, const char *dst, long delta) {
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    long n = file_size(src) + delta;
    for (long i = 0; i < n; ++i) {
        int c = i < file_size(src) ? fgetc(in) : 0;
        fputc(c, out);
    }
    fclose(in);
    fclose(out);
}

static int leftover_temporaries(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c '\\.tmp\\.' > /dev/null", dir);
    return system(cmd) == 0;
}

int main(void) {
    gcam_error err = {0};
    char dir[] = "/tmp/gcam-weights-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char *cfg = temp_cfg(small_cfg), *other_cfg = temp_cfg(other_head_cfg);
    char ours[600], theirs[600], bad[600], stock_out[600];
    snprintf(ours, sizeof ours, "%s/ours.weights", dir);
    snprintf(theirs, sizeof theirs, "%s/theirs.weights", dir);
    snprintf(bad, sizeof bad, "%s/bad.weights", dir);
    snprintf(stock_out, sizeof stock_out, "%s/stock.weights", dir);

    gcam_net *a = load(cfg, NULL, 0, &err);
    randomize_all(a->dn, 5);
    CHECK(gcam_weights_save(a->dn, ours, &err) == 0, "%s", err.message);
    size_t expected = gcam_weights_expected_floats(a->dn, 0);
    CHECK(file_size(ours) == 20 + 4 * (long)expected, "size %ld for %zu floats", file_size(ours),
          expected);
    CHECK(!leftover_temporaries(dir), "temporary file left behind after a save");

    /* Round trip through our loader. */
    gcam_net *b = load(cfg, ours, 0, &err);
    CHECK(b && same_parameters(a->dn, b->dn, a->dn->n), "round trip differs: %s", err.message);
    CHECK(b && *b->dn->seen == 123456789012ULL, "seen not restored");

    /* Darknet's library reads our file... */
    network *dk = parse_network_cfg(cfg);
    load_weights(dk, ours);
    CHECK(same_parameters(a->dn, dk, a->dn->n), "Darknet's load_weights reads it differently");
    /* ...and we read Darknet's. */
    save_weights(dk, theirs);
    gcam_net *c = load(cfg, theirs, 0, &err);
    CHECK(c && same_parameters(dk, c->dn, dk->n), "Darknet's file read differently: %s",
          err.message);
    gcam_darknet_free(dk);

    /* The stock darknet program loads our file and writes it back unchanged. */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "darknet partial %s %s %s 100 >/dev/null 2>&1", cfg, ours, stock_out);
    CHECK(system(cmd) == 0, "darknet partial failed");
    gcam_net *d = load(cfg, stock_out, 0, &err);
    CHECK(d && same_parameters(a->dn, d->dn, a->dn->n), "stock darknet's copy differs: %s",
          err.message);
    CHECK(file_size(stock_out) == file_size(ours), "stock copy has %ld bytes, ours %ld",
          file_size(stock_out), file_size(ours));

    /* Old header: 4-byte seen (version 0.1.0). */
    {
        FILE *in = fopen(ours, "rb"), *out = fopen(bad, "wb");
        int32_t header[3] = {0, 1, 0}, seen32 = 777;
        fseek(in, 20, SEEK_SET);
        fwrite(header, 4, 3, out);
        fwrite(&seen32, 4, 1, out);
        int ch;
        while ((ch = fgetc(in)) != EOF) fputc(ch, out);
        fclose(in);
        fclose(out);
        gcam_net *old = load(cfg, bad, 0, &err);
        CHECK(old && same_parameters(a->dn, old->dn, a->dn->n) && *old->dn->seen == 777,
              "version 0.1 header: %s", err.message);
        gcam_net_free(old);
    }

    /* Truncated, oversized, odd-sized and tiny files. */
    gcam_net *none;
    CHECK(gcam_weights_check(a->dn, ours, 0, &err) == 0, "check of a good file: %s", err.message);
    truncate_copy(ours, bad, -4);
    CHECK_ERROR_MENTIONS(gcam_weights_check(a->dn, bad, 0, &err), err, "truncated");
    none = load(cfg, bad, 0, &err);
    CHECK_ERROR_MENTIONS(none != NULL ? 0 : -1, err, "truncated");
    char fragment[128];
    snprintf(fragment, sizeof fragment, "expected %zu floats", expected);
    CHECK_ERROR_MENTIONS(-1, err, fragment);
    CHECK_ERROR_MENTIONS(-1, err, bad);
    truncate_copy(ours, bad, +4);
    none = load(cfg, bad, 0, &err);
    CHECK_ERROR_MENTIONS(none != NULL ? 0 : -1, err, "too large");
    truncate_copy(ours, bad, +2);
    none = load(cfg, bad, 0, &err);
    CHECK_ERROR_MENTIONS(none != NULL ? 0 : -1, err, "found");
    truncate_copy(ours, bad, -(file_size(ours) - 8));
    none = load(cfg, bad, 0, &err);
    CHECK_ERROR_MENTIONS(none != NULL ? 0 : -1, err, "header");
    none = load(cfg, "/nonexistent/x.weights", 0, &err);
    CHECK_ERROR_MENTIONS(none != NULL ? 0 : -1, err, "cannot open weights");
    none = load(cfg, dir, 0, &err);
    CHECK_ERROR_MENTIONS(none != NULL ? 0 : -1, err, "not a regular file");

    /* Weights of another head: a mismatch, unless only the trunk is asked for. */
    none = load(other_cfg, ours, 0, &err);
    CHECK_ERROR_MENTIONS(none != NULL ? 0 : -1, err, "-weights_layers");
    gcam_net *partial = load(other_cfg, ours, 4, &err);
    CHECK(partial && same_parameters(a->dn, partial->dn, 4), "partial load: %s", err.message);
    none = load(other_cfg, ours, 99, &err);
    CHECK_ERROR_MENTIONS(none != NULL ? 0 : -1, err, "only");

    /* A failed save leaves neither a file nor a temporary behind. */
    char missing_dir[700];
    snprintf(missing_dir, sizeof missing_dir, "%s/no/such/dir.weights", dir);
    int status = gcam_weights_save(a->dn, missing_dir, &err);
    CHECK_ERROR_MENTIONS(status, err, missing_dir);
    CHECK(!leftover_temporaries(dir), "temporary file left behind after a failed save");

    gcam_net_free(partial);
    gcam_net_free(d);
    gcam_net_free(c);
    gcam_net_free(b);
    gcam_net_free(a);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    unlink(cfg);
    unlink(other_cfg);
    free(cfg);
    free(other_cfg);
    return check_summary("test_weights");
}
