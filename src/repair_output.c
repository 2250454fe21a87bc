/* repair_output.c — the repair plan and its results, for people and for
 * scripts.
 *
 * Owns: the text rendering and the --json shape of --repair, modelled on
 * the reaper's (reap_output.c). The JSON object (stable, "version":1):
 *
 *   {"version":1, "mode":"dry-run" | "apply", "root":"/var/lib/docker",
 *    "items":[{"check":"overlay-link-missing","object":"<dir or l/ name>",
 *              "why":"...",
 *              "steps":[{"action":"make-symlink|retarget-symlink|write-link|write-lower|
 *                                  remove-lower|make-work|remove-symlink",
 *                        "path":"<root-relative>",
 *                        "target":"../<dir>/diff",     -- symlink steps
 *                        "content":"...",              -- write-link, write-lower
 *                        "before":"..." | null,        -- what is replaced or removed
 *                        "done":false}],
 *              "result":"planned|done|failed|skipped|not-reached", "error":null | "..."}],
 *    "notes":["..."],
 *    "summary":{"items":n,"steps":n,"done":n,"failed":n,"skipped":n,"not_reached":n,
 *               "young_skipped":n,"errors_left":n,"temps_removed":n,
 *               "interrupted":false,"refused":null | "why"}}
 *
 * Strings that come from the store are escaped (text_escape) in both. */
#include "repair.h"
#include "reap_internal.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

static void add_escaped(cJSON *o, const char *key, const char *s)
{
    if (!s) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    char *e = text_escape(s);
    cJSON_AddStringToObject(o, key, e ? e : "");
    free(e);
}

static bool is_symlink_step(const struct repair_step *s)
{
    return s->action == RA_MAKE_SYMLINK || s->action == RA_RETARGET_SYMLINK || s->action == RA_REMOVE_SYMLINK;
}

/* The bytes a step replaces, printable ("" for an empty file). */
static const char *before_text(const struct repair_step *s)
{
    if (!s->had_before)
        return NULL;
    if (s->before && memchr(s->before, '\0', s->before_len))
        return "<binary>";
    return s->before ? s->before : "";
}

static cJSON *step_json(const struct repair_step *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "action", repair_action_name(s->action));
    add_escaped(o, "path", s->path);
    if (s->action == RA_MAKE_SYMLINK || s->action == RA_RETARGET_SYMLINK)
        add_escaped(o, "target", s->content);
    else if (s->action == RA_WRITE_LINK || s->action == RA_WRITE_LOWER)
        add_escaped(o, "content", s->content);
    add_escaped(o, "before", before_text(s));
    cJSON_AddBoolToObject(o, "done", s->done);
    return o;
}

static cJSON *item_json(const struct repair_item *it)
{
    cJSON *o = cJSON_CreateObject();
    add_escaped(o, "check", it->check);
    add_escaped(o, "object", it->object);
    add_escaped(o, "why", it->why);
    cJSON *steps = cJSON_AddArrayToObject(o, "steps");
    for (size_t i = 0; i < it->step_count; i++)
        cJSON_AddItemToArray(steps, step_json(&it->steps[i]));
    cJSON_AddStringToObject(o, "result", repair_result_name(it->result));
    add_escaped(o, "error", it->error);
    return o;
}

static size_t total_steps(const struct repair_plan *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->count; i++)
        n += p->items[i].step_count;
    return n;
}

void repair_print_json(FILE *out, const char *root, const struct repair_plan *p, const struct repair_summary *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddStringToObject(o, "mode", s->apply ? "apply" : "dry-run");
    add_escaped(o, "root", root);
    cJSON *items = cJSON_AddArrayToObject(o, "items");
    for (size_t i = 0; i < p->count; i++)
        cJSON_AddItemToArray(items, item_json(&p->items[i]));
    cJSON *notes = cJSON_AddArrayToObject(o, "notes");
    for (size_t i = 0; i < p->note_count; i++) {
        char *e = text_escape(p->notes[i]);
        cJSON_AddItemToArray(notes, cJSON_CreateString(e ? e : ""));
        free(e);
    }
    cJSON *sum = cJSON_AddObjectToObject(o, "summary");
    cJSON_AddNumberToObject(sum, "items", (double)p->count);
    cJSON_AddNumberToObject(sum, "steps", (double)total_steps(p));
    cJSON_AddNumberToObject(sum, "done", (double)s->done);
    cJSON_AddNumberToObject(sum, "failed", (double)s->failed);
    cJSON_AddNumberToObject(sum, "skipped", (double)s->skipped);
    cJSON_AddNumberToObject(sum, "not_reached", (double)s->not_reached);
    cJSON_AddNumberToObject(sum, "young_skipped", (double)p->young_skipped);
    cJSON_AddNumberToObject(sum, "errors_left", (double)p->errors_left);
    cJSON_AddNumberToObject(sum, "temps_removed", (double)s->temps_removed);
    cJSON_AddBoolToObject(sum, "interrupted", s->interrupted);
    if (s->refused)
        add_escaped(sum, "refused", s->refusal ? s->refusal : "refused");
    else
        cJSON_AddNullToObject(sum, "refused");
    char *text = cJSON_Print(o);
    if (text)
        fprintf(out, "%s\n", text);
    free(text);
    cJSON_Delete(o);
}

/* ---- text --------------------------------------------------------------- */

static void print_escaped(FILE *out, const char *s)
{
    char *e = text_escape(s ? s : "");
    fputs(e ? e : "?", out);
    free(e);
}

static void print_quoted(FILE *out, const char *s)
{
    fputc('"', out);
    print_escaped(out, s);
    fputc('"', out);
}

static void print_step(FILE *out, const struct repair_step *s, bool apply)
{
    static const char *const verbs[] = { "symlink", "repoint", "write", "write", "remove", "mkdir", "remove" };
    fprintf(out, "      %-7s ", verbs[s->action]);
    print_escaped(out, s->path);
    if (s->action == RA_MAKE_SYMLINK || s->action == RA_RETARGET_SYMLINK) {
        fputs(" -> ", out);
        print_escaped(out, s->content);
    } else if (s->action == RA_WRITE_LINK || s->action == RA_WRITE_LOWER) {
        fputs(" = ", out);
        print_quoted(out, s->content);
    } else if (s->action == RA_MAKE_WORK) {
        fputs(" (mode 0700)", out);
    }
    const char *before = before_text(s);
    if (is_symlink_step(s) && before && s->action != RA_MAKE_SYMLINK) {
        fputs("   (was -> ", out);
        print_escaped(out, before);
        fputc(')', out);
    } else if (!is_symlink_step(s) && s->action != RA_MAKE_WORK) {
        fputs("   (was ", out);
        if (before)
            print_quoted(out, before);
        else
            fputs("missing", out);
        fputc(')', out);
    }
    if (apply && !s->done)
        fputs("   (not done)", out);
    fputc('\n', out);
}

static void print_item(FILE *out, const struct repair_item *it, bool apply)
{
    fprintf(out, "%-8s %-26s ", apply ? repair_result_name(it->result) : "repair", it->check);
    print_escaped(out, it->object);
    fputc('\n', out);
    fputs("      why     ", out);
    print_escaped(out, it->why);
    fputc('\n', out);
    if (it->error) {
        fputs("      error   ", out);
        print_escaped(out, it->error);
        fputc('\n', out);
    }
    for (size_t i = 0; i < it->step_count; i++)
        print_step(out, &it->steps[i], apply && it->result != RR_PLANNED);
}

static void print_summary(FILE *out, const struct repair_plan *p, const struct repair_summary *s,
                          const struct options *o)
{
    char dur[32];
    if (s->temps_removed)
        fprintf(out, "Removed %zu temp symlink%s left in overlay2/l by an interrupted run.\n", s->temps_removed,
                s->temps_removed == 1 ? "" : "s");
    if (!s->apply)
        fprintf(out, "Plan: %zu repair%s, %zu write%s. Dry run: nothing was changed; add --apply to do it.\n",
                p->count, p->count == 1 ? "" : "s", total_steps(p), total_steps(p) == 1 ? "" : "s");
    else
        fprintf(out, "Repaired %zu of %zu item%s; %zu failed, %zu skipped, %zu not reached.\n", s->done, p->count,
                p->count == 1 ? "" : "s", s->failed, s->skipped, s->not_reached);
    if (p->young_skipped)
        fprintf(out, "%lld finding%s younger than %s skipped (a pull or build may still be writing).\n",
                (long long)p->young_skipped, p->young_skipped == 1 ? "" : "s",
                text_duration(o->min_age, dur, sizeof dur));
    if (p->errors_left)
        fprintf(out, "%lld error%s not repaired (see the notes and --report).\n", (long long)p->errors_left,
                p->errors_left == 1 ? " is" : "s are");
    if (s->interrupted)
        fputs("Interrupted: stopped after the current item; run again to go on.\n", out);
    if (s->refused)
        fprintf(out, "Stopped: %s\n", s->refusal ? s->refusal : "refused");
}

void repair_print_text(FILE *out, const char *root, const struct repair_plan *p, const struct repair_summary *s,
                       const struct options *o)
{
    if (o->quiet && p->count == 0 && p->errors_left == 0 && !s->refused)
        return;
    if (!o->quiet) {
        fputs(s->apply ? "ovl2fsck repair of " : "ovl2fsck repair plan for ", out);
        print_escaped(out, root);
        fputs(s->apply ? "\n\n" : " (dry run)\n\n", out);
    }
    for (size_t i = 0; i < p->count; i++)
        print_item(out, &p->items[i], s->apply);
    for (size_t i = 0; i < p->note_count; i++) {
        fputs("note: ", out);
        print_escaped(out, p->notes[i]);
        fputc('\n', out);
    }
    if (p->count || p->note_count)
        fputc('\n', out);
    print_summary(out, p, s, o);
}
