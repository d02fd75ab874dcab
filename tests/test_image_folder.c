/* Folders of images by class: both layouts, recursion, hidden files and extensions, names
 * with spaces and non-ASCII characters, the seeded stratified split (counts, the same on
 * every call, moved by the seed alone, stable when an image is added), the errors that
 * name the folder, the class check's hint, and the .data file written for the other
 * programs. The scanner reads names only, so the images here are empty files. */
#include "check.h"
#include "testutil.h"

#include <sys/stat.h>

static char root[64];

static void make_dirs(const char *rel) {
    char path[640];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; ++p)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    mkdir(path, 0755);
}

/* An empty file at root/rel, its folders made. */
static void touch(const char *rel) {
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(dir, sizeof dir, "%s", rel);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        make_dirs(dir);
    }
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
}

static void new_root(void) {
    snprintf(root, sizeof root, "/tmp/gcam-folder-XXXXXX");
    if (!mkdtemp(root)) exit(2);
}

static void remove_root(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", root);
}

/* Reads root (or root/sub) as a folder; 0 on success, the message in err. */
static int read_folder(gcam_data_files *d, const char *sub, float fraction, unsigned long seed,
                       gcam_error *err) {
    char dir[256];
    snprintf(dir, sizeof dir, "%s%s%s", root, sub ? "/" : "", sub ? sub : "");
    gcam_split_options o = {fraction, seed};
    return gcam_data_open(d, dir, &o, err);
}

static int count_label(const gcam_dataset *ds, int label) {
    int n = 0;
    for (int i = 0; i < ds->n; ++i) n += ds->labels[i] == label;
    return n;
}

static int has_path_ending(const gcam_dataset *ds, const char *end) {
    for (int i = 0; i < ds->n; ++i) {
        size_t a = strlen(ds->paths[i]), b = strlen(end);
        if (a >= b && !strcmp(ds->paths[i] + a - b, end)) return 1;
    }
    return 0;
}

static int message_has(const gcam_error *err, const char *text) {
    return strstr(err->message, text) != NULL;
}

static void check_class_layout(void) {
    new_root();
    for (int i = 0; i < 40; ++i) {
        char name[64];
        snprintf(name, sizeof name, "dog/%03d.jpg", i);
        touch(name);
        if (i < 20) {
            snprintf(name, sizeof name, "cat/%03d.PNG", i);
            touch(name);
        }
    }
    touch("cat/deeper/still/inside.JpEg");
    touch("cat/with space ünïcode.png");
    touch("cat/.hidden.png");
    touch("cat/.cache/skipped.png");
    touch("cat/notes.txt");
    touch("cat/archive.jpg.bak");
    touch(".git/objects.png");
    touch("loose.png");
    gcam_data_files d;
    gcam_error err;
    CHECK(read_folder(&d, NULL, 0.1f, 1, &err) == 0, "class layout reads: %s", err.message);
    CHECK(d.classes == 2 && d.n_labels == 2, "two classes (hidden .git is none), got %d",
          d.classes);
    CHECK(d.n_labels == 2 && !strcmp(d.labels[0], "cat") && !strcmp(d.labels[1], "dog"),
          "class names in byte order");
    int cats = count_label(&d.folder_train, 0) + count_label(&d.folder_valid, 0);
    int dogs = count_label(&d.folder_train, 1) + count_label(&d.folder_valid, 1);
    CHECK(cats == 22, "cat: 20 + nested + spaced name, no hidden or non-image: got %d", cats);
    CHECK(dogs == 40, "dog: 40 images, got %d", dogs);
    CHECK(count_label(&d.folder_valid, 0) == 2 && count_label(&d.folder_valid, 1) == 4,
          "the split is stratified: round(0.1 n) per class, got %d and %d",
          count_label(&d.folder_valid, 0), count_label(&d.folder_valid, 1));
    CHECK(has_path_ending(&d.folder_train, "inside.JpEg") ||
              has_path_ending(&d.folder_valid, "inside.JpEg"),
          "images are found recursively, extensions in any case");
    CHECK(has_path_ending(&d.folder_train, "with space ünïcode.png") ||
              has_path_ending(&d.folder_valid, "with space ünïcode.png"),
          "a name with spaces and non-ASCII characters");
    CHECK(!has_path_ending(&d.folder_train, "skipped.png") &&
              !has_path_ending(&d.folder_valid, ".hidden.png"),
          "hidden files and folders are skipped");
    CHECK(gcam_data_has_split(&d, 0) && gcam_data_has_split(&d, 1), "both splits present");
    CHECK(d.backup && strstr(d.backup, "backup/gcam-folder-"), "backup/<folder name>: %s",
          d.backup ? d.backup : "(none)");

    /* the same split on every call; another seed moves it; the sets are disjoint */
    gcam_data_files again, other;
    CHECK(read_folder(&again, NULL, 0.1f, 1, &err) == 0, "%s", err.message);
    CHECK(read_folder(&other, NULL, 0.1f, 2, &err) == 0, "%s", err.message);
    int same = again.folder_valid.n == d.folder_valid.n, moved = 0, overlap = 0;
    for (int i = 0; same && i < d.folder_valid.n; ++i)
        same = !strcmp(again.folder_valid.paths[i], d.folder_valid.paths[i]);
    for (int i = 0; i < d.folder_valid.n && i < other.folder_valid.n; ++i)
        moved += strcmp(other.folder_valid.paths[i], d.folder_valid.paths[i]) != 0;
    for (int i = 0; i < d.folder_valid.n; ++i)
        for (int j = 0; j < d.folder_train.n; ++j)
            overlap += !strcmp(d.folder_valid.paths[i], d.folder_train.paths[j]);
    CHECK(same, "the same seed gives the same split");
    CHECK(moved > 0, "another seed gives another split");
    CHECK(overlap == 0 && d.folder_train.n + d.folder_valid.n == 62,
          "every image is in exactly one set");
    gcam_data_files_free(&again);

    /* an added image moves no other across: the split ranks names, not positions */
    touch("dog/000a.jpg");
    CHECK(read_folder(&again, NULL, 0.1f, 1, &err) == 0, "%s", err.message);
    int kept = 0;
    for (int i = 0; i < d.folder_valid.n; ++i)
        kept += has_path_ending(&again.folder_valid, strrchr(d.folder_valid.paths[i], '/'));
    CHECK(kept >= d.folder_valid.n - 1, "adding an image keeps the others' sides (%d of %d)", kept,
          d.folder_valid.n);
    gcam_data_files_free(&again);
    gcam_data_files_free(&other);

    /* the split through the generic loader equals the folder's sets */
    gcam_dataset ds;
    CHECK(gcam_data_load_split(&d, 1, &ds, &err) == 0 && ds.n == d.folder_valid.n &&
              !strcmp(ds.paths[0], d.folder_valid.paths[0]) && ds.classes == 2,
          "gcam_data_load_split copies the validation set");
    gcam_dataset_free(&ds);

    /* valid_fraction 0: no validation images; eval has nothing */
    gcam_data_files none;
    CHECK(read_folder(&none, NULL, 0, 1, &err) == 0 && none.folder_valid.n == 0 &&
              !gcam_data_has_split(&none, 1) && none.folder_train.n == 63,
          "valid_fraction=0 keeps every image for training");
    CHECK(gcam_data_load_split(&none, 1, &ds, &err) != 0 && message_has(&err, "valid_fraction=0"),
          "asking for absent validation images names valid_fraction: %s", err.message);
    gcam_data_files_free(&none);

    /* the files written for the other programs read back as a .data file */
    char out[300], data_path[400];
    snprintf(out, sizeof out, "%s/.backup", root);
    mkdir(out, 0755);
    CHECK(gcam_data_write_files(&d, out, data_path, sizeof data_path, &err) == 0, "%s",
          err.message);
    gcam_data_files back;
    CHECK(gcam_data_open(&back, data_path, NULL, &err) == 0, "the written .data reads: %s",
          err.message);
    if (back.classes == 2) {
        CHECK(!strcmp(back.labels[0], "cat") && !strcmp(back.labels[1], "dog"),
              "its labels are the class names");
        gcam_dataset tr, va;
        CHECK(gcam_data_load_split(&back, 0, &tr, &err) == 0 &&
                  gcam_data_load_split(&back, 1, &va, &err) == 0,
              "its lists read: %s", err.message);
        int equal = tr.n == d.folder_train.n && va.n == d.folder_valid.n;
        for (int i = 0; equal && i < tr.n; ++i)
            equal = !strcmp(tr.paths[i], d.folder_train.paths[i]) &&
                    tr.labels[i] == d.folder_train.labels[i];
        for (int i = 0; equal && i < va.n; ++i)
            equal = !strcmp(va.paths[i], d.folder_valid.paths[i]) &&
                    va.labels[i] == d.folder_valid.labels[i];
        CHECK(equal, "the written lists hold the same images and classes (%d/%d, %d/%d)", tr.n,
              d.folder_train.n, va.n, d.folder_valid.n);
        gcam_dataset_free(&tr);
        gcam_dataset_free(&va);
    } else {
        CHECK(0, "the written .data has %d classes", back.classes);
    }
    gcam_data_files_free(&back);

    /* the class check names the head's key and line */
    char *cfg = temp_cfg("[net]\nwidth=8\nheight=8\nchannels=1\n\n[convolutional]\nfilters=4\n"
                         "size=1\nstride=1\nactivation=linear\n\n[avgpool]\n\n[softmax]\n");
    CHECK(gcam_data_check_classes(&d, root, cfg, 2, &err) == 0, "2 outputs for 2 classes");
    CHECK(gcam_data_check_classes(&d, root, cfg, 4, &err) != 0 && message_has(&err, "filters=2") &&
              message_has(&err, ":7"),
          "a mismatch names filters=2 and the line: %s", err.message);
    unlink(cfg);
    free(cfg);
    gcam_data_files_free(&d);
    remove_root();
}

static void check_train_valid_layout(void) {
    new_root();
    for (int i = 0; i < 6; ++i) {
        char name[64];
        snprintf(name, sizeof name, "train/b/%d.png", i);
        touch(name);
        snprintf(name, sizeof name, "train/a/%d.bmp", i);
        touch(name);
    }
    touch("valid/b/v0.png");
    touch("valid/b/v1.gif");
    touch("test/c/t.png"); /* neither train nor valid: not read */
    gcam_data_files d;
    gcam_error err;
    CHECK(read_folder(&d, NULL, 0.5f, 1, &err) == 0, "train/valid layout reads: %s", err.message);
    CHECK(d.classes == 2 && d.folder_train.n == 12 && d.folder_valid.n == 2,
          "train/ holds the training images, valid/ the validation ones (valid_fraction unused): "
          "%d classes, %d + %d",
          d.classes, d.folder_train.n, d.folder_valid.n);
    CHECK(d.folder_valid.n == 2 && d.folder_valid.labels[0] == 1 && d.folder_valid.labels[1] == 1,
          "valid/'s class b is train/'s class 1 (a class valid/ lacks is fine)");
    gcam_data_files_free(&d);

    touch("valid/c/x.png");
    CHECK(read_folder(&d, NULL, 0.1f, 1, &err) != 0 && message_has(&err, "valid/c") &&
              message_has(&err, "not in"),
          "a validation class that training lacks: %s", err.message);
    make_dirs("val/b");
    CHECK(read_folder(&d, NULL, 0.1f, 1, &err) != 0 && message_has(&err, "both valid/ and val/"),
          "valid/ and val/ together: %s", err.message);
    remove_root();

    /* train/ alone is split as a class folder */
    new_root();
    for (int i = 0; i < 10; ++i) {
        char name[64];
        snprintf(name, sizeof name, "train/x/%d.png", i);
        touch(name);
        snprintf(name, sizeof name, "train/y/%d.png", i);
        touch(name);
    }
    CHECK(read_folder(&d, NULL, 0.2f, 3, &err) == 0 && d.folder_valid.n == 4 &&
              d.folder_train.n == 16,
          "train/ without valid/ is split: %d + %d", d.folder_train.n, d.folder_valid.n);
    gcam_data_files_free(&d);
    /* val/ is taken as valid/ */
    touch("val/y/v.png");
    CHECK(read_folder(&d, NULL, 0.2f, 3, &err) == 0 && d.folder_valid.n == 1 &&
              d.folder_train.n == 20,
          "val/ beside train/: %d + %d", d.folder_train.n, d.folder_valid.n);
    gcam_data_files_free(&d);
    remove_root();
}

static void check_errors(void) {
    gcam_data_files d;
    gcam_error err;
    new_root();
    touch("a/1.png");
    make_dirs("b/empty/deeper");
    touch("b/notes.txt");
    CHECK(read_folder(&d, NULL, 0.1f, 1, &err) != 0 &&
              message_has(&err, "/b: class folder with no images"),
          "an empty class names its folder: %s", err.message);
    remove_root();

    new_root();
    touch("only/1.png");
    touch("only/2.png");
    CHECK(read_folder(&d, NULL, 0.1f, 1, &err) != 0 && message_has(&err, "only one class (only)"),
          "a single class: %s", err.message);
    remove_root();

    new_root();
    touch("1.png");
    touch("2.png");
    CHECK(read_folder(&d, NULL, 0.1f, 1, &err) != 0 &&
              message_has(&err, "not a folder of images by class") && message_has(&err, "directly"),
          "images without class folders: %s", err.message);
    remove_root();

    new_root();
    CHECK(read_folder(&d, NULL, 0.1f, 1, &err) != 0 && message_has(&err, root),
          "an empty folder names it: %s", err.message);
    /* a class of one image stays whole in training */
    touch("a/1.png");
    touch("b/1.png");
    touch("b/2.png");
    CHECK(read_folder(&d, NULL, 0.5f, 1, &err) == 0 && count_label(&d.folder_valid, 0) == 0 &&
              count_label(&d.folder_valid, 1) == 1,
          "a class of one image gives validation none, of two gives one");
    gcam_data_files_free(&d);
    remove_root();
}

int main(void) {
    check_class_layout();
    check_train_valid_layout();
    check_errors();
    return check_summary("test_image_folder");
}
