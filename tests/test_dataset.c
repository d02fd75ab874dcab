/* Label resolution and lists: a label matches a whole directory name, file stem or '_'
 * token, never a substring ("Shirt" is not "T-Shirt"); lists with tab-separated class
 * indices; .data files; unmatched and ambiguous paths counted and left out. */
#include "check.h"
#include "testutil.h"

static char *labels[] = {"T-Shirt", "Shirt", "Ankle-Boot", "Bag", "cat", "n01440764"};

static int match(const char *path) {
    int first;
    int n = gcam_label_match(path, labels, 6, &first);
    return n == 1 ? first : -n - 1; /* -1: none, -3: two, ... */
}

int main(void) {
    CHECK(match("data/train/00001_T-Shirt.png") == 0, "T-Shirt file");
    CHECK(match("data/train/00002_Shirt.png") == 1, "Shirt file");
    CHECK(match("data/T-Shirt/0001.png") == 0, "T-Shirt folder");
    CHECK(match("data/Shirt/0001.png") == 1, "Shirt folder");
    CHECK(match("data/Ankle-Boot/x.jpg") == 2, "folder with a dash");
    CHECK(match("imagenet/n01440764_10026.JPEG") == 5, "ImageNet naming");
    CHECK(match("cifar/train/10000_cat.png") == 4, "CIFAR naming");
    CHECK(match("data/Bag.png") == 3, "whole stem");
    CHECK(match("data/concatenate/Handbag_7.png") == -1, "substrings never match");
    CHECK(match("data/bag/7.png") == -1, "case matters, as in Darknet");
    CHECK(match("data/Shirt/00001_T-Shirt.png") == -3, "two labels: ambiguous");
    CHECK(match("data/Shirt.d/7.png") == -1, "a folder's extension is part of its name");

    /* A list mixing bare paths (resolved by name) and tab-indexed lines. */
    char *list = temp_cfg("a/00001_T-Shirt.png\n"
                          "a/00002_Shirt.png\n"
                          "a/00003_Sock.png\n"
                          "a/Shirt/00004_T-Shirt.png\n"
                          "b/anything.png\t3\n"
                          "\n"
                          "a/00005_Bag.png\r\n");
    gcam_dataset ds;
    gcam_error err = {0};
    int status = gcam_dataset_load(&ds, list, labels, 6, 6, &err);
    CHECK(status == 0, "%s", err.message);
    CHECK(ds.n == 4 && ds.unmatched == 1 && ds.ambiguous == 1, "n=%d unmatched=%d ambiguous=%d",
          ds.n, ds.unmatched, ds.ambiguous);
    CHECK(ds.n == 4 && ds.labels[0] == 0 && ds.labels[1] == 1 && ds.labels[2] == 3 &&
              ds.labels[3] == 3 && strcmp(ds.paths[3], "a/00005_Bag.png") == 0,
          "labels %d %d %d %d", ds.labels[0], ds.labels[1], ds.labels[2], ds.labels[3]);
    gcam_dataset_free(&ds);
    unlink(list);
    free(list);

    list = temp_cfg("x.png\t7\n");
    status = gcam_dataset_load(&ds, list, labels, 6, 6, &err);
    CHECK_ERROR_MENTIONS(status, err, "line 1: class index '7' is not in [0, 6)");
    gcam_dataset_free(&ds);
    unlink(list);
    free(list);
    list = temp_cfg("x/Sock.png\ny/Hat.png\n");
    status = gcam_dataset_load(&ds, list, labels, 6, 6, &err);
    CHECK_ERROR_MENTIONS(status, err, "no usable images");
    gcam_dataset_free(&ds);
    unlink(list);
    free(list);
    status = gcam_dataset_load(&ds, "/nonexistent/train.list", labels, 6, 6, &err);
    CHECK_ERROR_MENTIONS(status, err, "/nonexistent/train.list");
    gcam_dataset_free(&ds);

    /* .data files */
    char *label_file = temp_cfg("T-Shirt\nShirt\n");
    char text[512];
    snprintf(text, sizeof text,
             "classes = 2\ntrain = t.list\nvalid=v.list\nlabels = %s\n"
             "backup = bk\n# comment\ntop=2\n",
             label_file);
    char *data = temp_cfg(text);
    gcam_data_files files;
    status = gcam_data_files_read(&files, data, &err);
    CHECK(status == 0 && files.classes == 2 && files.n_labels == 2 &&
              !strcmp(files.train, "t.list") && !strcmp(files.valid, "v.list") &&
              !strcmp(files.backup, "bk") && files.top == 2 && !strcmp(files.labels[1], "Shirt"),
          "%s", err.message);
    gcam_data_files_free(&files);
    unlink(data);
    free(data);
    snprintf(text, sizeof text, "classes = 3\nlabels = %s\n", label_file);
    data = temp_cfg(text);
    status = gcam_data_files_read(&files, data, &err);
    CHECK_ERROR_MENTIONS(status, err, "has 2 labels but classes=3");
    gcam_data_files_free(&files);
    unlink(data);
    free(data);
    /* A failed read owns nothing (found by fuzzing: it leaked train=, valid=, backup=):
     * no free here, LeakSanitizer checks. */
    data = temp_cfg("classes = many\ntrain = a\nvalid = b\nbackup = c\n");
    status = gcam_data_files_read(&files, data, &err);
    CHECK_ERROR_MENTIONS(status, err, "classes=many");
    CHECK(!files.train && !files.valid && !files.backup, "a failed read kept its strings");
    unlink(data);
    free(data);
    /* The same for a list with no usable line. */
    char *bad_list = temp_cfg("x/unknown.png\ny/other.png\n");
    gcam_dataset failed;
    char *two[2] = {"T-Shirt", "Shirt"};
    status = gcam_dataset_load(&failed, bad_list, two, 2, 2, &err);
    CHECK_ERROR_MENTIONS(status, err, "no usable images");
    CHECK(!failed.paths && !failed.labels && failed.n == 0, "a failed load kept its arrays");
    unlink(bad_list);
    free(bad_list);
    unlink(label_file);
    free(label_file);
    return check_summary("test_dataset");
}
