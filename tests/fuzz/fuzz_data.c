/* libFuzzer target: Darknet .data files and image lists. The input is split at the
 * first two NUL bytes into a .data text, a list text and a labels text; the .data is
 * read as gcam-train reads it, and the list is matched against the labels. */
#include "datacfg.h"
#include "fuzz_common.h"

static const uint8_t *part(const uint8_t *data, size_t size, int k, size_t *len) {
    const uint8_t *start = data, *end = data + size;
    for (int i = 0; i < k && start < end; ++i) {
        const uint8_t *nul = memchr(start, 0, (size_t)(end - start));
        start = nul ? nul + 1 : end;
    }
    const uint8_t *nul = memchr(start, 0, (size_t)(end - start));
    *len = (size_t)((nul ? nul : end) - start);
    return start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 65536) return 0;
    size_t n_data, n_list, n_labels;
    const uint8_t *d = part(data, size, 0, &n_data), *l = part(data, size, 1, &n_list);
    const uint8_t *lb = part(data, size, 2, &n_labels);
    gcam_error err;
    char data_path[64], list_path[64];
    snprintf(data_path, sizeof data_path, "%s", fuzz_temp_file(d, n_data, "data"));
    snprintf(list_path, sizeof list_path, "%s", fuzz_temp_file(l, n_list, "list"));
    char *labels_path = fuzz_temp_file(lb, n_labels, "labels");
    gcam_data_files files;
    if (gcam_data_files_read(&files, data_path, &err) == 0) gcam_data_files_free(&files);
    char **labels = NULL;
    int n = 0;
    if (gcam_lines_read(labels_path, &labels, &n, &err) == 0) {
        gcam_dataset ds;
        if (n > 0 && gcam_dataset_load(&ds, list_path, labels, n, n, &err) == 0)
            gcam_dataset_free(&ds);
        gcam_lines_free(labels, n);
    }
    fuzz_remove(data_path);
    fuzz_remove(list_path);
    fuzz_remove(labels_path);
    return 0;
}
