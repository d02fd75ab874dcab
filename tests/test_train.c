/* gcam-train end to end on a tiny synthetic data set: the same seed gives the same run
 * with 1 and 4 loader threads; K iterations plus K resumed from _last equal 2K straight
 * (the momentum sidecar makes this exact); epochs are permutations; unreadable images
 * are counted and skipped up to the documented limit; stock darknet reads the
 * checkpoints; a NaN loss stops the run without overwriting the last checkpoint;
 * saliency refreshes leave no trace and compute maps at the true classes, guided runs
 * are reproducible, bad keys are named. */
#include "check.h"
#include "cfg.h"
#include "guided.h"
#include "image_ops.h"
#include "loader.h"
#include "train_saliency.h"
#include "testutil.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_image.h>
#include <stb_image_write.h>

#include <signal.h>
#include <sys/stat.h>

#define N_TRAIN 40
#define N_VALID 8
static char dir[] = "/tmp/gcam-train-XXXXXX";
static char cfg_path[600], data_path[600], boxes_path[600];
static const char *labels[3] = {"alpha", "beta", "gamma"};

/* 16x16 images: a bright square whose corner depends on the class, plus noise. */
static void make_data_set(void) {
    gcam_rng rng = gcam_rng_init(5, 5);
    char path[700], list_path[700];
    FILE *lists[2];
    snprintf(list_path, sizeof list_path, "%s/train.list", dir);
    lists[0] = fopen(list_path, "w");
    snprintf(list_path, sizeof list_path, "%s/valid.list", dir);
    lists[1] = fopen(list_path, "w");
    snprintf(boxes_path, sizeof boxes_path, "%s/boxes.txt", dir);
    FILE *boxes = fopen(boxes_path, "w");
    for (int i = 0; i < N_TRAIN + N_VALID; ++i) {
        int cls = i % 3;
        unsigned char px[16 * 16 * 3];
        for (int y = 0; y < 16; ++y)
            for (int x = 0; x < 16; ++x) {
                int on = (cls == 0 && x < 8 && y < 8) || (cls == 1 && x >= 8 && y < 8) ||
                         (cls == 2 && y >= 8);
                for (int k = 0; k < 3; ++k)
                    px[(y * 16 + x) * 3 + k] =
                        (unsigned char)(on * 150 + gcam_rng_next(&rng) % 100);
            }
        snprintf(path, sizeof path, "%s/%03d_%s.png", dir, i, labels[cls]);
        stbi_write_png(path, 16, 16, 3, px, 48);
        fprintf(lists[i >= N_TRAIN], "%s\n", path);
        /* the bright square: the class's evidence */
        fprintf(boxes, "%s %d %d %d %d\n", path, cls == 1 ? 8 : 0, cls == 2 ? 8 : 0,
                cls == 1 ? 16 : (cls == 0 ? 8 : 16), cls == 2 ? 16 : 8);
    }
    fclose(lists[0]);
    fclose(lists[1]);
    fclose(boxes);
    snprintf(path, sizeof path, "%s/labels.txt", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "alpha\nbeta\ngamma\n");
    fclose(f);
    snprintf(data_path, sizeof data_path, "%s/tiny.data", dir);
    f = fopen(data_path, "w");
    fprintf(f, "classes=3\ntrain=%s/train.list\nvalid=%s/valid.list\nlabels=%s/labels.txt\n", dir,
            dir, dir);
    fclose(f);
}

static void write_cfg(float learning_rate) {
    snprintf(cfg_path, sizeof cfg_path, "%s/tiny.cfg", dir);
    FILE *f = fopen(cfg_path, "w");
    fprintf(f,
            "[net]\nbatch=8\nsubdivisions=2\nheight=16\nwidth=16\nchannels=3\n"
            "learning_rate=%g\nmomentum=0.9\ndecay=0.0005\npolicy=steps\nsteps=5\nscales=.5\n"
            "burn_in=2\nmax_batches=8\nmin_crop=16\nmax_crop=20\nangle=5\naspect=1.1\n"
            "hue=.1\nsaturation=1.5\nexposure=1.5\n"
            "[gcam]\ndata=%s\n"
            "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\npad=1\nactivation=leaky\n"
            "[maxpool]\nsize=2\nstride=2\n"
            "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\npad=1\nactivation=leaky\n"
            "[dropout]\nprobability=.2\n"
            "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n"
            "[avgpool]\n[softmax]\n[cost]\ntype=sse\n",
            learning_rate, data_path);
    fclose(f);
}

/* Under the grid's tiles, each image's labels: dark text on white, the only dark pixels
 * in the bottom rows. */
static void check_grid_labels(const char *path) {
    int w = 0, h = 0, c = 0;
    unsigned char *rgb = stbi_load(path, &w, &h, &c, 3);
    CHECK(rgb != NULL, "%s does not decode", path);
    if (!rgb) return;
    int ink = 0;
    for (int y = h - 40; y < h; ++y)
        for (int x = 0; x < w; ++x) ink += rgb[((size_t)y * w + x) * 3] < 100;
    CHECK(ink > 50, "%s: no label text under the tiles (%d dark pixels)", path, ink);
    stbi_image_free(rgb);
}

/* The stop request the next run polls (NULL: none), as a program's signal handler sets. */
static volatile sig_atomic_t *run_stop;

/* sets: NULL-terminated "key=value" [gcam] settings, or NULL. */
static int train_with(const char *backup, int threads, long max_batches, const char *weights,
                      const char *const *sets, gcam_error *err) {
    gcam_settings s;
    gcam_settings_default(&s);
    if (gcam_settings_read_cfg(&s, cfg_path, err)) return -1;
    for (int i = 0; sets && sets[i]; ++i) {
        char key[64];
        const char *eq = strchr(sets[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - sets[i]), sets[i]);
        if (gcam_settings_set(&s, key, eq + 1, "test", err)) return -1;
    }
    gcam_train_options *o = &s.train;
    snprintf(o->backup_dir, sizeof o->backup_dir, "%s/%s", dir, backup);
    if (weights) snprintf(o->weights, sizeof o->weights, "%s/%s", dir, weights);
    o->threads = threads;
    o->max_batches = max_batches;
    o->valid_every = 4;
    o->checkpoint_every = 2;
    s.seed = 11;
    s.quiet = 1;
    return gcam_train_run(&s, run_stop, err);
}

static int train(const char *backup, int threads, long max_batches, const char *weights,
                 gcam_error *err) {
    return train_with(backup, threads, max_batches, weights, NULL, err);
}

/* Column `column` (1-based: 3 is the loss, 9 the seconds) of <backup>/tiny.csv, one value
 * per iteration, after checking the header. */
static int read_column(const char *backup, int column, double *value, int max) {
    char path[800], line[512];
    snprintf(path, sizeof path, "%s/%s/tiny.csv", dir, backup);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int n = 0;
    if (!fgets(line, sizeof line, f)) n = -1;
    CHECK(n == 0 &&
              !strncmp(line, "iter,epoch,loss,avg_loss,lr,images_per_s,valid_top1,valid_top5", 62),
          "csv header '%s'", line);
    while (n >= 0 && n < max && fgets(line, sizeof line, f)) {
        const char *field = line;
        for (int k = 1; k < column && field; ++k) {
            field = strchr(field, ',');
            if (field) ++field;
        }
        value[n++] = field ? strtod(field, NULL) : NAN;
    }
    fclose(f);
    return n;
}

static int files_equal(const char *a, const char *b) {
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "cmp -s %s/%s %s/%s", dir, a, dir, b);
    return system(cmd) == 0;
}

/* 8 iterations with `options` as <name>1 (1 loader thread) and <name>3 (3 threads): the
 * final weights must be the same. */
static void check_thread_independent(const char *name, const char *const *options) {
    gcam_error err = {0};
    char one[64], three[64], weights1[128], weights3[128];
    snprintf(one, sizeof one, "%s1", name);
    snprintf(three, sizeof three, "%s3", name);
    int status = train_with(one, 1, 8, NULL, options, &err);
    CHECK(status == 0, "%s", err.message);
    status = train_with(three, 3, 8, NULL, options, &err);
    CHECK(status == 0, "%s", err.message);
    snprintf(weights1, sizeof weights1, "%s/tiny_final.weights", one);
    snprintf(weights3, sizeof weights3, "%s/tiny_final.weights", three);
    CHECK(files_equal(weights1, weights3), "%s: training depends on the thread count", name);
}

/* The maps a refresh computes are at each image's true class: the last refresh of a run
 * (pending in _last.maps, computed with the final weights) equals maps recomputed here
 * at the labels, and not maps at another class. After 2 iterations the network still
 * misclassifies some of these images, so the predicted class would fail too. */
static void check_refresh_class(void) {
    gcam_error err = {0};
    const char *const sets[] = {"saliency=1", "saliency_every=2", "crop_prob=0", "heatmap_every=0",
                                NULL};
    int status = train_with("true_class", 2, 2, NULL, sets, &err);
    CHECK(status == 0, "%s", err.message);
    char path[800];
    snprintf(path, sizeof path, "%s/true_class/tiny_last.maps", dir);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "no %s", path);
    if (!f) return;
    enum { SIDE = 16, CELLS = SIDE * SIDE, H = 16, W = 16, C = 3, MAX = 8 };
    /* magic (9), seen (8), images and side (2 x int32), refresh iterations, cells */
    int32_t header[2] = {0, 0}, pending[2] = {0, 0}, ids[MAX];
    fseek(f, 9 + 8, SEEK_SET);
    CHECK(fread(header, sizeof header, 1, f) == 1 && header[0] == N_TRAIN && header[1] == SIDE,
          "maps header %d %d", header[0], header[1]);
    fseek(f, (long)header[0] * (4 + CELLS), SEEK_CUR);
    unsigned char saved[MAX][CELLS];
    int ok = fread(pending, sizeof pending, 1, f) == 1 && pending[0] > 0 && pending[0] <= MAX &&
             pending[1] == 2 && fread(ids, 4, (size_t)pending[0], f) == (size_t)pending[0] &&
             fread(saved, CELLS, (size_t)pending[0], f) == (size_t)pending[0];
    fclose(f);
    CHECK(ok, "pending refresh: %d maps at iteration %d", pending[0], pending[1]);
    if (!ok) return;
    int n = pending[0];

    gcam_settings settings;
    gcam_settings_default(&settings);
    CHECK(gcam_settings_read_cfg(&settings, cfg_path, &err) == 0, "%s", err.message);
    /* a refresh computes maps with the saliency settings and the refresh's groups */
    gcam_saliency_options refresh = settings.saliency;
    refresh.groups = settings.train.refresh_groups;
    gcam_dataset ds;
    snprintf(path, sizeof path, "%s/train.list", dir);
    CHECK(gcam_dataset_load(&ds, path, (char **)labels, 3, 3, &err) == 0, "%s", err.message);
    gcam_load_options lo = gcam_load_options_default();
    snprintf(path, sizeof path, "%s/true_class/tiny_last.weights", dir);
    lo.weights = path;
    lo.batch = MAX;
    gcam_net *net = NULL;
    CHECK(gcam_net_load(&net, cfg_path, &lo, &err) == 0, "%s", err.message);
    if (!net) return;
    float images[MAX * C * H * W], maps[MAX * H * W];
    int truth[MAX], other[MAX], predicted[MAX], wrong = 0;
    for (int i = 0; i < n; ++i) {
        CHECK(gcam_image_load_for_net(ds.paths[ids[i]], W, H, C, images + i * C * H * W, &err) == 0,
              "%s", err.message);
        truth[i] = ds.labels[ids[i]];
        other[i] = (truth[i] + 1) % 3;
    }
    CHECK(gcam_saliency(net, images, n, NULL, &refresh, maps, predicted, NULL, &err) == 0, "%s",
          err.message);
    for (int i = 0; i < n; ++i) wrong += predicted[i] != truth[i];
    CHECK(wrong > 0, "every refreshed image is classified right: the test cannot tell");
    /* Within 1 of 255 per cell: the network here is sized for 8 images, the training
     * one for its sub-batch, and a different blocking of the same sums may round the last
     * bit of a float differently before the map is quantised to bytes. */
    for (int pass = 0; pass < 2; ++pass) {
        CHECK(gcam_saliency(net, images, n, pass ? other : truth, &refresh, maps, NULL, NULL,
                            &err) == 0,
              "%s", err.message);
        int far = 0;
        for (int i = 0; i < n; ++i) {
            unsigned char cells[CELLS];
            gcam_map_cells(maps + i * H * W, H, W, SIDE, cells);
            for (int k = 0; k < CELLS; ++k) far += abs(cells[k] - saved[i][k]) > 1;
        }
        if (pass == 0)
            CHECK(far == 0, "%d cells differ from maps at the true classes", far);
        else
            CHECK(far > n * CELLS / 10, "maps at other classes match the refresh (%d cells differ)",
                  far);
    }
    gcam_net_free(net);
    gcam_dataset_free(&ds);
}

/* Saliency-guided training: refreshes leave no trace on training state, guided runs are
 * reproducible, and bad keys are errors naming the key. */
static void check_saliency_training(void) {
    gcam_error err = {0};
    /* Every transform off: maps are computed every 2 iterations and heatmaps written,
     * yet weights, momentum, BN statistics, `seen` and the loader streams are untouched,
     * so the run equals the plain one ("one") bit for bit. */
    const char *const quiet[] = {"saliency=1",      "saliency_every=2", "crop_prob=0",
                                 "heatmap_every=4", "heatmap_images=3", NULL};
    int status = train_with("quiet_saliency", 2, 8, NULL, quiet, &err);
    CHECK(status == 0, "%s", err.message);
    CHECK(files_equal("one/tiny_final.weights", "quiet_saliency/tiny_final.weights"),
          "a refresh changed the training run");
    /* saliency=0 with every other key set: the keys are parsed and validated, and the run
     * is still the plain one bit for bit. */
    const char *const off[] = {
        "saliency=0",    "saliency_every=1", "crop_prob=1",     "drop_prob=0.5",
        "keep_prob=0.5", "cutout_prob=0.5",  "heatmap_every=2", NULL};
    status = train_with("saliency_off", 2, 8, NULL, off, &err);
    CHECK(status == 0, "%s", err.message);
    CHECK(files_equal("one/tiny_final.weights", "saliency_off/tiny_final.weights"),
          "saliency=0 with guided keys changed the training run");
    struct stat st;
    char path[800];
    for (int it = 4; it <= 8; it += 4) {
        snprintf(path, sizeof path, "%s/quiet_saliency/heatmaps/%d.png", dir, it);
        CHECK(stat(path, &st) == 0 && st.st_size > 100, "missing %s", path);
        check_grid_labels(path);
    }
    /* Every transform on (images come back with maps in the second epoch): the same run
     * with 1 and 3 loader threads, and a different one from the plain run. */
    const char *const loud[] = {
        "saliency=1",    "saliency_every=1", "crop_prob=1",     "drop_prob=0.5",
        "keep_prob=0.5", "cutout_prob=0.5",  "heatmap_every=0", NULL};
    check_thread_independent("loud", loud);
    CHECK(!files_equal("one/tiny_final.weights", "loud1/tiny_final.weights"),
          "guided transforms changed nothing");
    /* The shuffled control runs the same refreshes and transforms with other images' maps:
     * reproducible across thread counts, and a different run from the guided one. */
    const char *const shuffled[] = {"saliency=1",      "saliency_every=1",        "crop_prob=1",
                                    "drop_prob=0.5",   "keep_prob=0.5",           "cutout_prob=0.5",
                                    "heatmap_every=0", "saliency_guide=shuffled", NULL};
    check_thread_independent("shuffled", shuffled);
    CHECK(!files_equal("loud1/tiny_final.weights", "shuffled1/tiny_final.weights"),
          "the shuffled control equals the guided run");
    /* 4 iterations, then 4 resumed from _last (with its .state and .maps): the guided run
     * continues exactly, map cache and pending refresh included. */
    status = train_with("loud_resumed", 2, 4, NULL, loud, &err);
    CHECK(status == 0, "%s", err.message);
    status = train_with("loud_resumed", 2, 8, "loud_resumed/tiny_last.weights", loud, &err);
    CHECK(status == 0, "%s", err.message);
    CHECK(files_equal("loud1/tiny_final.weights", "loud_resumed/tiny_final.weights"),
          "a resumed guided run differs from the straight one");
    /* Without the maps file the run still resumes, with an empty cache. */
    snprintf(path, sizeof path, "%s/loud_resumed/tiny_last.maps", dir);
    CHECK(unlink(path) == 0, "no %s", path);
    status = train_with("loud_resumed", 2, 10, "loud_resumed/tiny_last.weights", loud, &err);
    CHECK(status == 0, "%s", err.message);
    snprintf(path, sizeof path, "%s/loud1/tiny.csv", dir);
    FILE *f = fopen(path, "r");
    char line[512], last[512] = "";
    while (f && fgets(line, sizeof line, f)) strcpy(last, line);
    if (f) fclose(f);
    const char *field = last; /* coverage: the 11th column */
    for (int k = 1; k < 11 && field; ++k)
        field = strchr(field, ',') ? strchr(field, ',') + 1 : NULL;
    double coverage = field ? atof(field) : -1;
    /* 7 refreshes of 4 images in the cache by then (the 8th is pending), some maps
     * constant, some images refreshed twice: 0.3 to 0.7 of the 40 images */
    CHECK(coverage > 0.3 && coverage < 0.7, "coverage %g in '%s'", coverage, last);

    /* Bad keys name the key. */
    const char *const unknown[] = {"saliency=1", "saliency_evry=3", NULL};
    CHECK_ERROR_MENTIONS(train_with("bad", 1, 2, NULL, unknown, &err), err, "saliency_evry");
    const char *const bad_value[] = {"crop_prob=1.5", NULL};
    CHECK_ERROR_MENTIONS(train_with("bad", 1, 2, NULL, bad_value, &err), err, "crop_prob=1.5");
    const char *const bad_method[] = {"saliency_method=gradcan", NULL};
    CHECK_ERROR_MENTIONS(train_with("bad", 1, 2, NULL, bad_method, &err), err, "saliency_method");
    const char *const both_masks[] = {"saliency=1", "drop_prob=0.7", "keep_prob=0.6", NULL};
    CHECK_ERROR_MENTIONS(train_with("bad", 1, 2, NULL, both_masks, &err), err, "keep_prob");
    const char *const bad_layer[] = {"saliency=1", "saliency_layer=40", NULL};
    CHECK_ERROR_MENTIONS(train_with("bad", 1, 2, NULL, bad_layer, &err), err, "saliency_layer");
}

/* Counts the rows of <backup>/tiny.csv whose map_hit and map_mass (columns 12 and 13) are
 * filled, and checks that each filled value is a fraction. */
static int telemetry_rows(const char *backup, int *rows) {
    char path[800], line[512];
    snprintf(path, sizeof path, "%s/%s/tiny.csv", dir, backup);
    FILE *f = fopen(path, "r");
    int filled = 0, bad = 0;
    *rows = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (!(*rows)++) continue; /* the header */
        const char *field = line;
        for (int k = 1; k < 12 && field; ++k) {
            field = strchr(field, ',');
            if (field) ++field;
        }
        if (!field || *field == ',' || *field == '\n') continue;
        char *end;
        double hit = strtod(field, &end), mass = *end == ',' ? strtod(end + 1, NULL) : -1;
        bad += !(hit >= 0 && hit <= 1 && mass >= 0 && mass <= 1);
        ++filled;
    }
    if (f) fclose(f);
    --*rows;
    CHECK(bad == 0, "%s: %d rows with a map_hit or map_mass outside [0, 1]", backup, bad);
    return filled;
}

/* A run with these settings: the same with 1 and 3 loader threads, not the plain run, and
 * 4 iterations plus 4 resumed from _last equal to 8 straight. */
static void check_run(const char *name, const char *const *options) {
    gcam_error err = {0};
    check_thread_independent(name, options);
    char straight[128], resumed[128], last[160];
    snprintf(straight, sizeof straight, "%s1/tiny_final.weights", name);
    CHECK(!files_equal("one/tiny_final.weights", straight), "%s changed nothing", name);
    snprintf(resumed, sizeof resumed, "%s_resumed", name);
    snprintf(last, sizeof last, "%s/tiny_last.weights", resumed);
    CHECK(train_with(resumed, 2, 4, NULL, options, &err) == 0, "%s", err.message);
    CHECK(train_with(resumed, 2, 8, last, options, &err) == 0, "%s", err.message);
    snprintf(resumed, sizeof resumed, "%s_resumed/tiny_final.weights", name);
    CHECK(files_equal(straight, resumed), "%s: a resumed run differs from the straight one", name);
}

/* Fresh maps are the maps of the batch's own augmented images at their true classes, with
 * the current weights: recomputed here for the same batch, they are the same, cell for
 * cell (transforms off, so each view is its own); under the shuffled guide each image gets
 * another image's map of the batch. */
static void check_fresh_maps(void) {
    enum { H = 16, W = 16, C = 3 };
    gcam_error err = {0};
    gcam_settings s;
    gcam_settings_default(&s);
    CHECK(gcam_settings_read_cfg(&s, cfg_path, &err) == 0, "%s", err.message);
    s.train.saliency = 1;
    s.train.source = GCAM_SOURCE_FRESH;
    s.saliency.method = GCAM_METHOD_GRADCAM;
    s.train.guided.crop_prob = 0;
    gcam_net *net = NULL;
    gcam_load_options lo = gcam_load_options_default();
    CHECK(gcam_net_load(&net, cfg_path, &lo, &err) == 0, "%s", err.message);
    gcam_dataset ds;
    char list[700];
    snprintf(list, sizeof list, "%s/train.list", dir);
    CHECK(gcam_dataset_load(&ds, list, (char **)labels, 3, 3, &err) == 0, "%s", err.message);
    if (!net) return;
    network *dn = net->dn;
    gcam_loader_config lc = {.data = &ds, .batch = dn->batch, .train = 1, .seed = 4, .threads = 1};
    lc.augment = (gcam_augment_config){W, H, C, 16, 20, 1.1f, 5, 0.1f, 1.5f, 1.5f, 1};
    gcam_loader *loader = NULL;
    CHECK(gcam_loader_init(&loader, &lc, &err) == 0, "%s", err.message);
    const gcam_batch *b = loader ? gcam_loader_get(loader, 0, &err) : NULL;
    int n = b ? b->n : 0;
    enum { CAP = 16 };
    float images[CAP * C * H * W], hand[CAP * H * W], maps[2][CAP * H * W], recomputed[H * W];
    int has_map[CAP];
    for (int guide = 0; guide < 2 && b; ++guide) {
        s.train.guided.source = guide ? GCAM_GUIDE_SHUFFLED : GCAM_GUIDE_SALIENCY;
        gcam_train_saliency ts;
        CHECK(gcam_train_saliency_init(&ts, &s, net, &ds, &ds, NULL, NULL, 1, &err) == 0, "%s",
              err.message);
        memcpy(images, b->x, sizeof(float) * (size_t)n * C * H * W);
        double seconds;
        CHECK(gcam_train_saliency_fresh(&ts, net, &ds, images, b->labels, n, b, 0, maps[guide],
                                        has_map, &seconds, &err) == 0,
              "%s", err.message);
        CHECK(!memcmp(images, b->x, sizeof(float) * (size_t)n * C * H * W),
              "fresh maps changed the images with every transform off");
        gcam_train_saliency_free(&ts);
    }
    /* by hand: the maps of the loader's images at their labels, as cached cells */
    gcam_saliency_options so = s.saliency;
    so.groups = s.train.refresh_groups;
    int constant[CAP], own = 0, other = 0;
    CHECK(b && gcam_saliency(net, b->x, n, b->labels, &so, hand, NULL, constant, &err) == 0, "%s",
          err.message);
    int size = s.train.guided.map_size;
    gcam_warp view = {1, 0, 0, 0, 1, 0, 0};
    for (int i = 0; i < n; ++i) {
        unsigned char cells[256];
        float cell_values[256];
        gcam_map_cells(hand + i * H * W, H, W, size, cells);
        for (int k = 0; k < size * size; ++k) cell_values[k] = cells[k] / 255.f;
        gcam_guided_warp_map(cell_values, size, &view, W, H, recomputed, W, H);
        own += !constant[i] && !memcmp(recomputed, maps[0] + i * H * W, sizeof recomputed);
        other += !constant[i] && memcmp(recomputed, maps[1] + i * H * W, sizeof recomputed);
        own += constant[i], other += constant[i];
    }
    CHECK(n == 4 && own == n, "%d of %d fresh maps equal the maps recomputed by hand", own, n);
    CHECK(other == n, "%d of %d shuffled fresh maps are another image's", other, n);
    gcam_loader_free(loader);
    gcam_dataset_free(&ds);
    gcam_net_free(net);
}

/* Fresh maps, saliency mixing, the oracle guide, test-time crops in validation and the maps'
 * telemetry against the boxes. */
static void check_outcome_features(void) {
    char train_boxes[700], valid_boxes[700];
    snprintf(train_boxes, sizeof train_boxes, "train_boxes=%s", boxes_path);
    snprintf(valid_boxes, sizeof valid_boxes, "valid_boxes=%s", boxes_path);
    const char *const fresh[] = {"saliency=1",
                                 "saliency_source=fresh",
                                 "saliency_method=gradcam",
                                 "crop_prob=0.5",
                                 "keep_prob=0.3",
                                 "cutout_prob=0.3",
                                 "mix_prob=0.5",
                                 "mix_label=saliency",
                                 "mix_box=saliency",
                                 "valid_tta=crop",
                                 train_boxes,
                                 "heatmap_every=0",
                                 NULL};
    check_run("fresh", fresh);
    /* an iteration whose maps are all constant (an untrained network's dead units) has no
     * hit to report: most iterations do */
    int rows, filled = telemetry_rows("fresh1", &rows);
    CHECK(rows == 8 && filled >= 6, "fresh maps: telemetry on %d of %d rows", filled, rows);
    const char *const oracle[] = {"saliency=1",       "saliency_guide=oracle",
                                  train_boxes,        "crop_prob=0.5",
                                  "mix_prob=0.5",     "mix_label=saliency",
                                  "valid_tta=oracle", valid_boxes,
                                  "heatmap_every=0",  NULL};
    check_run("oracle", oracle);
    /* sources twice the input (an 8x8 network on the 16x16 images): training warps shrink
     * and are filtered, fresh-map crops and validation crops are cut from the sources */
    char glance_cfg[600], command[2200];
    snprintf(glance_cfg, sizeof glance_cfg, "%s/glance/tiny.cfg", dir); /* the same base name */
    snprintf(command, sizeof command,
             "mkdir -p %s/glance && sed -e 's/^height=16/height=8/' -e 's/^width=16/width=8/' -e "
             "'s/^min_crop=16/min_crop=8/'"
             " -e 's/^max_crop=20/max_crop=10/' %s > %s",
             dir, cfg_path, glance_cfg);
    CHECK(system(command) == 0, "cannot write %s", glance_cfg);
    char tiny_cfg[sizeof cfg_path];
    memcpy(tiny_cfg, cfg_path, sizeof cfg_path);
    memcpy(cfg_path, glance_cfg, sizeof cfg_path);
    const char *const glance[] = {"saliency=1",
                                  "saliency_source=fresh",
                                  "crop_prob=0.7",
                                  "crop_source=image",
                                  "valid_tta=crop",
                                  "heatmap_every=0",
                                  NULL};
    check_run("glance", glance);
    const char *const glance_view[] = {"saliency=1",
                                       "saliency_source=fresh",
                                       "crop_prob=0.7",
                                       "crop_source=view",
                                       "valid_tta=crop",
                                       "heatmap_every=0",
                                       NULL};
    check_run("glance_view", glance_view);
    CHECK(!files_equal("glance1/tiny_final.weights", "glance_view1/tiny_final.weights"),
          "crops from the source and from the view trained the same weights");
    memcpy(cfg_path, tiny_cfg, sizeof cfg_path);
    /* mixing with the cached maps, warped into each view by the loader */
    const char *const cached[] = {
        "saliency=1",         "saliency_every=1", "crop_prob=0",     "mix_prob=0.7",
        "mix_label=saliency", train_boxes,        "heatmap_every=0", NULL};
    check_run("cached_mix", cached);
    filled = telemetry_rows("cached_mix1", &rows);
    CHECK(rows == 8 && filled >= 6, "refresh every iteration: telemetry on %d of %d rows", filled,
          rows);
    const char *const every_other[] = {"saliency=1", "saliency_every=2", "crop_prob=0",
                                       train_boxes,  "heatmap_every=0",  NULL};
    gcam_error err = {0};
    CHECK(train_with("every_other", 1, 8, NULL, every_other, &err) == 0, "%s", err.message);
    filled = telemetry_rows("every_other", &rows);
    CHECK(rows == 8 && filled >= 3 && filled <= 4,
          "refresh every 2 iterations: telemetry on %d of %d rows", filled, rows);
    /* the oracle without boxes, and mixing by saliency without maps, are refused */
    const char *const no_boxes[] = {"saliency=1", "saliency_guide=oracle", NULL};
    CHECK_ERROR_MENTIONS(train_with("bad", 1, 2, NULL, no_boxes, &err), err, "train_boxes");
    const char *const no_maps[] = {"mix_prob=0.5", "mix_label=saliency", NULL};
    CHECK_ERROR_MENTIONS(train_with("bad", 1, 2, NULL, no_maps, &err), err, "saliency=1");
}

/* A stop request (as a program sets from SIGTERM) ends the run after the iteration that
 * sees it, with _last saved there, and the run returns the request. The library installs
 * no signal handler: SIGINT and SIGTERM keep their dispositions. */
static void check_stop_request(void) {
    gcam_error err = {0};
    volatile sig_atomic_t stop = SIGTERM;
    run_stop = &stop;
    int status = train("stopped", 1, 8, NULL, &err);
    run_stop = NULL;
    CHECK(status == SIGTERM, "status %d (%s)", status, err.message);
    char path[800];
    snprintf(path, sizeof path, "%s/stopped/tiny_last.weights", dir);
    FILE *f = fopen(path, "rb");
    uint64_t seen = 0;
    CHECK(f && fseek(f, 12, SEEK_SET) == 0 && fread(&seen, 8, 1, f) == 1 && seen == 8,
          "_last after a stop request: seen %llu, want one iteration of 8 images",
          (unsigned long long)seen);
    if (f) fclose(f);
    struct sigaction sa;
    sigaction(SIGINT, NULL, &sa);
    int untouched = sa.sa_handler == SIG_DFL;
    sigaction(SIGTERM, NULL, &sa);
    CHECK(untouched && sa.sa_handler == SIG_DFL, "the library installed a signal handler");
}

/* The chart is rewritten at every validation: a PNG, and an SVG carrying its labels. */
static void check_chart(const char *backup) {
    char path[800];
    snprintf(path, sizeof path, "%s/%s/chart.png", dir, backup);
    FILE *f = fopen(path, "rb");
    unsigned char signature[8] = {0};
    CHECK(f && fread(signature, 1, 8, f) == 8 && !memcmp(signature, "\x89PNG\r\n\x1a\n", 8),
          "%s is not a PNG", path);
    if (f) fclose(f);
    snprintf(path, sizeof path, "%s/%s/chart.svg", dir, backup);
    f = fopen(path, "rb");
    char text[1 << 16] = "";
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = '\0';
    if (f) fclose(f);
    const char *labels[] = {"iteration", "average loss", "top-1 (%)", "learning rate", "</svg>"};
    for (int k = 0; k < 5; ++k)
        CHECK(strstr(text, labels[k]) != NULL, "%s lacks '%s'", path, labels[k]);
}

static void check_loader(void) {
    gcam_dataset ds;
    gcam_error err;
    char list[700];
    snprintf(list, sizeof list, "%s/train.list", dir);
    char *lbl[3] = {"alpha", "beta", "gamma"};
    CHECK(gcam_dataset_load(&ds, list, lbl, 3, 3, &err) == 0, "%s", err.message);
    gcam_loader_config lc = {0};
    lc.data = &ds;
    lc.batch = 8;
    lc.train = 1;
    lc.seed = 3;
    lc.augment = (gcam_augment_config){16, 16, 3, 16, 20, 1.1f, 5, .1f, 1.5f, 1.5f, 1};
    gcam_loader *one, *four;
    lc.threads = 1;
    gcam_loader_init(&one, &lc, &err);
    lc.threads = 4;
    gcam_loader_init(&four, &lc, &err);
    int seen[N_TRAIN] = {0}, same = 1;
    for (int b = 0; b < 10; ++b) { /* two epochs */
        const gcam_batch *x = gcam_loader_get(one, b, &err);
        const gcam_batch *y = gcam_loader_get(four, b, &err);
        same &= !memcmp(x->x, y->x, sizeof(float) * 8 * 16 * 16 * 3) &&
                !memcmp(x->sample_ids, y->sample_ids, sizeof(int) * 8);
        for (int i = 0; i < 8 && b < 5; ++i) seen[x->sample_ids[i]]++;
    }
    CHECK(same, "batches differ between 1 and 4 loader threads");
    int permutation = 1;
    for (int i = 0; i < N_TRAIN; ++i) permutation &= seen[i] == 1;
    CHECK(permutation, "the first epoch is not a permutation of the data set");
    const gcam_batch *again = gcam_loader_get(one, 2, &err); /* random access */
    const gcam_batch *fresh = gcam_loader_get(four, 2, &err);
    CHECK(!memcmp(again->x, fresh->x, sizeof(float) * 8 * 16 * 16 * 3), "batch 2 not reproducible");
    gcam_loader_free(one);
    gcam_loader_free(four);

    /* Three unreadable images: counted and skipped. */
    char path[800];
    for (int i = 0; i < 3; ++i) {
        FILE *f = fopen(ds.paths[i * 7], "w");
        fputs(i == 2 ? "" : "not a png", f);
        fclose(f);
        if (i == 2) unlink(ds.paths[i * 7]);
    }
    lc.threads = 2;
    gcam_loader *loader;
    gcam_loader_init(&loader, &lc, &err);
    int clean = 1;
    for (int b = 0; b < 5; ++b) {
        const gcam_batch *x = gcam_loader_get(loader, b, &err);
        CHECK(x != NULL, "%s", err.message);
        for (int i = 0; x && i < 8; ++i)
            clean &= x->sample_ids[i] % 7 != 0 || x->sample_ids[i] > 14;
    }
    CHECK(clean, "an unreadable image was used");
    CHECK(gcam_loader_bad_images(loader) == 3, "%d bad images counted",
          gcam_loader_bad_images(loader));
    gcam_loader_free(loader);
    /* Past the limit, max(10, 1% of 40), loading stops with a clear error. */
    for (int i = 0; i < 12; ++i) {
        snprintf(path, sizeof path, "%s", ds.paths[i * 3 + 1]);
        FILE *f = fopen(path, "w");
        fclose(f);
    }
    gcam_loader_init(&loader, &lc, &err);
    const gcam_batch *x = NULL;
    for (int b = 0; b < 5 && (x = gcam_loader_get(loader, b, &err)); ++b) {
    }
    CHECK(x == NULL && strstr(err.message, "could not be read, more than the limit of 10"),
          "limit not enforced: %s", x ? "(no error)" : err.message);
    gcam_loader_free(loader);
    gcam_dataset_free(&ds);
}

int main(void) {
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    make_data_set();
    write_cfg(0.05f);
    gcam_error err = {0};

    int status = train("one", 1, 8, NULL, &err);
    CHECK(status == 0, "training failed: %s", err.message);
    status = train("four", 4, 8, NULL, &err);
    CHECK(status == 0, "training failed: %s", err.message);
    double a[16], b[16], c[16];
    int na = read_column("one", 3, a, 16), nb = read_column("four", 3, b, 16);
    CHECK(na == 8 && nb == 8, "%d and %d log lines", na, nb);
    CHECK(na == nb && !memcmp(a, b, sizeof(double) * (size_t)na), "losses differ with 4 threads");
    CHECK(files_equal("one/tiny_final.weights", "four/tiny_final.weights"),
          "final weights differ with 4 threads");
    CHECK(a[7] < a[0], "loss did not fall: %g -> %g", a[0], a[7]);

    /* 4 iterations, then 4 more resumed from _last: the same run, exactly. Kernels and
     * loader are deterministic, and the momentum comes back from the .state file. */
    status = train("resumed", 2, 4, NULL, &err);
    CHECK(status == 0, "%s", err.message);
    status = train("resumed", 2, 8, "resumed/tiny_last.weights", &err);
    CHECK(status == 0, "%s", err.message);
    /* The seconds column counts on from the log's last line at the checkpoint: set that
     * to 1000 s, as if the first part had run long, and the resumed lines follow it. */
    status = train("timed", 2, 4, NULL, &err);
    CHECK(status == 0, "%s", err.message);
    char command[2000];
    snprintf(command, sizeof command,
             "awk -F, -v OFS=, 'NR == 5 {$9 = \"1000.00\"} {print}' %s/timed/tiny.csv > "
             "%s/timed/edited && mv %s/timed/edited %s/timed/tiny.csv",
             dir, dir, dir, dir);
    CHECK(system(command) == 0, "cannot edit %s/timed/tiny.csv", dir);
    status = train("timed", 2, 6, "timed/tiny_last.weights", &err);
    CHECK(status == 0, "%s", err.message);
    double seconds[8];
    int ns = read_column("timed", 9, seconds, 8);
    CHECK(ns == 6 && seconds[3] == 1000 && seconds[4] >= 1000 && seconds[5] >= seconds[4],
          "resumed seconds column: %d lines, %g %g %g", ns, ns > 3 ? seconds[3] : 0,
          ns > 4 ? seconds[4] : 0, ns > 5 ? seconds[5] : 0);
    int nc = read_column("resumed", 3, c, 16);
    CHECK(nc == 8 && !memcmp(a, c, sizeof(double) * 8), "resumed losses differ (%d lines)", nc);
    CHECK(files_equal("one/tiny_final.weights", "resumed/tiny_final.weights"),
          "resumed final weights differ");
    struct stat st;
    char path[800];
    const char *expected[] = {"tiny_last.weights", "tiny_last.state", "tiny_best.weights",
                              "tiny_final.weights"};
    for (int i = 0; i < 4; ++i) {
        snprintf(path, sizeof path, "%s/one/%s", dir, expected[i]);
        CHECK(stat(path, &st) == 0, "missing %s", path);
    }
    check_chart("one");
    check_stop_request();

    /* Stock darknet reads the checkpoint (of a copy of the cfg without [gcam]) and writes
     * the same parameters back; its `partial` command resets `seen` in the header. */
    gcam_cfg cfg;
    char *clean_cfg = NULL;
    CHECK(gcam_cfg_read(&cfg, cfg_path, &err) == 0 &&
              gcam_cfg_write_darknet(&cfg, 0, &clean_cfg, &err) == 0,
          "%s", err.message);
    gcam_cfg_free(&cfg);
    char cmd[3000];
    snprintf(cmd, sizeof cmd,
             "darknet partial %s %s/one/tiny_final.weights %s/stock.weights 100 "
             ">/dev/null 2>&1 && cmp -s -i 20 %s/one/tiny_final.weights %s/stock.weights",
             clean_cfg, dir, dir, dir, dir);
    CHECK(system(cmd) == 0, "stock darknet did not read the checkpoint back identically");
    unlink(clean_cfg);
    free(clean_cfg);

    check_refresh_class();
    check_saliency_training();
    check_fresh_maps();
    check_outcome_features();

    /* Weights holding a NaN: the run stops at its first loss, and the checkpoint already
     * in the backup folder is not overwritten. */
    {
        snprintf(path, sizeof path, "%s/one/tiny_final.weights", dir);
        FILE *f = fopen(path, "r+b");
        float nan_value = NAN;
        fseek(f, 20 + 4 * 10, SEEK_SET);
        fwrite(&nan_value, 4, 1, f);
        fclose(f);
        snprintf(cmd, sizeof cmd, "cp %s/four/tiny_last.weights %s/last.copy", dir, dir);
        CHECK(system(cmd) == 0, "copy");
        status = train("four", 1, 12, "one/tiny_final.weights", &err);
        CHECK(status == -1 && strstr(err.message, "iteration 9: the loss is NaN"),
              "status %d, '%s'", status, err.message);
        CHECK(files_equal("four/tiny_last.weights", "last.copy"), "_last was overwritten");
    }

    /* (check_loader corrupts images: it runs last) */
    /* An absurd learning rate: the run stops within an iteration of the explosion with a
     * message naming it, and every checkpoint it left holds finite weights only. */
    write_cfg(10.f);
    status = train("explode", 1, 40, NULL, &err);
    CHECK(status == -1 && strstr(err.message, "iteration ") &&
              (strstr(err.message, "not finite") || strstr(err.message, "infinite or NaN") ||
               strstr(err.message, "the loss is")),
          "status %d, '%s'", status, err.message);
    snprintf(path, sizeof path, "%s/explode/tiny_last.weights", dir);
    if (stat(path, &st) == 0) {
        gcam_net *net = NULL;
        gcam_load_options lo = gcam_load_options_default();
        lo.weights = path;
        CHECK(gcam_net_load(&net, cfg_path, &lo, &err) == 0, "%s", err.message);
        int finite = 1;
        for (int i = 0; net && i < net->dn->n; ++i)
            for (int k = 0; k < net->dn->layers[i].nweights; ++k)
                finite &= isfinite(net->dn->layers[i].weights[k]);
        CHECK(finite, "a checkpoint holds non-finite weights");
        gcam_net_free(net);
    }
    check_loader();

    if (getenv("KEEP")) return check_summary("test_train");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    return check_summary("test_train");
}
