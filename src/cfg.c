/* Reading, validating and rewriting Darknet cfg files (see cfg.h). The syntax follows
 * Darknet's read_cfg: whitespace is ignored everywhere in a line, '#' and ';' start
 * comments, "[name]" opens a section and "key=value" adds an option. Unlike Darknet, a
 * line that is neither is an error, and so is an option before the first section. */
#include "cfg.h"

#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Removes all whitespace (as Darknet's strip does) and a trailing '#' comment. */
static void clean_line(char *line) {
    char *out = line;
    for (char *in = line; *in; ++in) {
        if (*in == '#' && out != line) break; /* inline comment after a value */
        if (!isspace((unsigned char)*in)) *out++ = *in;
    }
    *out = '\0';
}

static void section_add_option(gcam_cfg_section *s, const char *key, const char *value, int line) {
    s->options = realloc(s->options, sizeof *s->options * (size_t)(s->n_options + 1));
    if (!s->options) abort();
    gcam_cfg_option *o = &s->options[s->n_options++];
    o->key = gcam_xstrdup(key);
    o->value = gcam_xstrdup(value);
    o->line = line;
}

static int parse_line(gcam_cfg *cfg, char *line, int line_no, gcam_error *err) {
    clean_line(line);
    if (line[0] == '\0' || line[0] == '#' || line[0] == ';') return 0;
    if (line[0] == '[') {
        size_t len = strlen(line);
        if (len < 3 || line[len - 1] != ']')
            return gcam_fail(err, "%s:%d: malformed section header '%s'", cfg->path, line_no, line);
        line[len - 1] = '\0';
        cfg->sections =
            realloc(cfg->sections, sizeof *cfg->sections * (size_t)(cfg->n_sections + 1));
        if (!cfg->sections) abort();
        gcam_cfg_section *s = &cfg->sections[cfg->n_sections++];
        memset(s, 0, sizeof *s);
        s->name = gcam_xstrdup(line + 1);
        s->line = line_no;
        return 0;
    }
    char *eq = strchr(line, '=');
    if (!eq || eq == line)
        return gcam_fail(err, "%s:%d: expected 'key=value' or '[section]', found '%s'", cfg->path,
                         line_no, line);
    if (cfg->n_sections == 0)
        return gcam_fail(err, "%s:%d: option '%s' appears before any [section]", cfg->path, line_no,
                         line);
    *eq = '\0';
    gcam_cfg_section *s = &cfg->sections[cfg->n_sections - 1];
    if (gcam_cfg_find(s, line))
        return gcam_fail(err, "%s:%d: key '%s' repeated in [%s] (first at line %d)", cfg->path,
                         line_no, line, s->name, gcam_cfg_find(s, line)->line);
    section_add_option(s, line, eq + 1, line_no);
    return 0;
}

int gcam_cfg_read_buffer(gcam_cfg *cfg, const char *path, const char *text, size_t len,
                         gcam_error *err) {
    memset(cfg, 0, sizeof *cfg);
    cfg->path = gcam_xstrdup(path);
    if (memchr(text, '\0', len))
        return gcam_fail(err, "%s: not a text cfg file (contains NUL bytes)", path);
    char *line = gcam_xmalloc(len + 1);
    size_t start = 0;
    int line_no = 0, status = 0;
    while (start < len && status == 0) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        memcpy(line, text + start, end - start);
        line[end - start] = '\0';
        status = parse_line(cfg, line, ++line_no, err);
        start = end + 1;
    }
    free(line);
    if (status == 0 && cfg->n_sections == 0)
        return gcam_fail(err, "%s: no sections; a Darknet cfg starts with [net]", path);
    return status;
}

int gcam_cfg_read(gcam_cfg *cfg, const char *path, gcam_error *err) {
    memset(cfg, 0, sizeof *cfg);
    FILE *f = fopen(path, "rb");
    if (!f) return gcam_fail(err, "%s: cannot open cfg: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *text = gcam_xmalloc(cap);
    size_t got;
    while ((got = fread(text + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            text = gcam_xrealloc(text, cap);
        }
    }
    int read_error = ferror(f) ? errno : 0;
    fclose(f);
    int status = read_error ? gcam_fail(err, "%s: cannot read cfg: %s", path, strerror(read_error))
                            : gcam_cfg_read_buffer(cfg, path, text, len, err);
    free(text);
    return status;
}

void gcam_cfg_free(gcam_cfg *cfg) {
    for (int i = 0; i < cfg->n_sections; ++i) {
        gcam_cfg_section *s = &cfg->sections[i];
        for (int j = 0; j < s->n_options; ++j) {
            free(s->options[j].key);
            free(s->options[j].value);
        }
        free(s->options);
        free(s->name);
    }
    free(cfg->sections);
    free(cfg->path);
    memset(cfg, 0, sizeof *cfg);
}

const gcam_cfg_option *gcam_cfg_find(const gcam_cfg_section *section, const char *key) {
    for (int i = 0; i < section->n_options; ++i)
        if (strcmp(section->options[i].key, key) == 0) return &section->options[i];
    return NULL;
}

const gcam_cfg_section *gcam_cfg_gcam_section(const gcam_cfg *cfg) {
    for (int i = 0; i < cfg->n_sections; ++i)
        if (strcmp(cfg->sections[i].name, "gcam") == 0) return &cfg->sections[i];
    return NULL;
}

int gcam_cfg_write_darknet(const gcam_cfg *cfg, int batch, char **tmp_path, gcam_error *err) {
    const char *dir = getenv("TMPDIR");
    char pattern[4096];
    snprintf(pattern, sizeof pattern, "%s/gcam-cfg-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(pattern);
    if (fd < 0)
        return gcam_fail(err, "%s: cannot create temporary cfg: %s", pattern, strerror(errno));
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(pattern);
        return gcam_fail(err, "cannot open temporary cfg: %s", strerror(errno));
    }
    for (int i = 0; i < cfg->n_sections; ++i) {
        const gcam_cfg_section *s = &cfg->sections[i];
        if (strcmp(s->name, "gcam") == 0) continue;
        fprintf(f, "[%s]\n", s->name);
        int is_net = i == 0;
        int subdivisions = 1;
        if (is_net && gcam_cfg_find(s, "subdivisions"))
            subdivisions = atoi(gcam_cfg_find(s, "subdivisions")->value);
        for (int j = 0; j < s->n_options; ++j) {
            const gcam_cfg_option *o = &s->options[j];
            if (is_net && batch > 0 && strcmp(o->key, "batch") == 0) continue;
            fprintf(f, "%s=%s\n", o->key, o->value);
        }
        if (is_net && batch > 0) fprintf(f, "batch=%d\n", batch * subdivisions);
        fputc('\n', f);
    }
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) {
        unlink(pattern);
        return gcam_fail(err, "%s: cannot write temporary cfg", pattern);
    }
    *tmp_path = gcam_xstrdup(pattern);
    return 0;
}
