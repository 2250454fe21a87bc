/* repair_output.c — the repair plan and its results, for people and for
 * scripts.
 *
 * Owns: the text rendering and the --json shape of --repair, modelled on
 * the reaper's (reap_output.c), in the apply engine's envelope (act.c). The
 * JSON object (stable, "version":1):
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
#include "text.h"

#include <stdlib.h>
#include <string.h>

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
    act_json_add_escaped(o, "path", s->path);
    if (s->action == RA_MAKE_SYMLINK || s->action == RA_RETARGET_SYMLINK)
        act_json_add_escaped(o, "target", s->content);
    else if (s->action == RA_WRITE_LINK || s->action == RA_WRITE_LOWER)
        act_json_add_escaped(o, "content", s->content);
    act_json_add_escaped(o, "before", before_text(s));
    cJSON_AddBoolToObject(o, "done", s->done);
    return o;
}

static cJSON *item_json(const struct repair_item *it)
{
    cJSON *o = cJSON_CreateObject();
    act_json_add_escaped(o, "check", it->check);
    act_json_add_escaped(o, "object", it->object);
    act_json_add_escaped(o, "why", it->why);
    cJSON *steps = cJSON_AddArrayToObject(o, "steps");
    for (size_t i = 0; i < it->step_count; i++)
        cJSON_AddItemToArray(steps, step_json(&it->steps[i]));
    cJSON_AddStringToObject(o, "result", act_result_name(it->result));
    act_json_add_escaped(o, "error", it->error);
    return o;
}

static size_t total_steps(const struct repair_plan *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->count; i++)
        n += p->items[i].step_count;
    return n;
}

static void print_json(FILE *out, const char *root, const struct repair_plan *p, const struct repair_summary *s)
{
    const struct act_counts *c = &s->counts;
    cJSON *o = act_json_begin(c->apply ? "apply" : "dry-run", root);
    cJSON *items = cJSON_AddArrayToObject(o, "items");
    for (const struct repair_item *it = p->items; it < p->items + p->count; it++)
        cJSON_AddItemToArray(items, item_json(it));
    cJSON *sum = act_json_add_summary(o, p->notes, p->note_count, p->count);
    cJSON_AddNumberToObject(sum, "steps", (double)total_steps(p));
    act_json_add_counts(sum, c);
    cJSON_AddNumberToObject(sum, "young_skipped", (double)p->young_skipped);
    cJSON_AddNumberToObject(sum, "errors_left", (double)p->errors_left);
    cJSON_AddNumberToObject(sum, "temps_removed", (double)s->temps_removed);
    act_json_add_outcome(sum, c);
    act_json_print(out, o);
}

/* ---- text --------------------------------------------------------------- */

static void print_quoted(FILE *out, const char *s)
{
    fputc('"', out);
    act_print_escaped(out, s);
    fputc('"', out);
}

static void print_step(FILE *out, const struct repair_step *s, bool apply)
{
    static const char *const verbs[] = { "symlink", "repoint", "write", "write", "remove", "mkdir", "remove" };
    fprintf(out, "      %-7s ", verbs[s->action]);
    act_print_escaped(out, s->path);
    if (s->action == RA_MAKE_SYMLINK || s->action == RA_RETARGET_SYMLINK) {
        fputs(" -> ", out);
        act_print_escaped(out, s->content);
    } else if (s->action == RA_WRITE_LINK || s->action == RA_WRITE_LOWER) {
        fputs(" = ", out);
        print_quoted(out, s->content);
    } else if (s->action == RA_MAKE_WORK) {
        fputs(" (mode 0700)", out);
    }
    const char *before = before_text(s);
    if (is_symlink_step(s) && before && s->action != RA_MAKE_SYMLINK) {
        fputs("   (was -> ", out);
        act_print_escaped(out, before);
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
    fprintf(out, "%-8s %-26s ", apply ? act_result_name(it->result) : "repair", it->check);
    act_print_escaped(out, it->object);
    fputc('\n', out);
    act_print_why(out, it->why, it->error);
    for (size_t i = 0; i < it->step_count; i++)
        print_step(out, &it->steps[i], apply && it->result != ACT_PLANNED);
}

static void print_summary(FILE *out, const struct repair_plan *p, const struct repair_summary *s,
                          const struct options *o)
{
    if (s->temps_removed)
        fprintf(out, "Removed %zu temp symlink%s left in overlay2/l by an interrupted run.\n", s->temps_removed,
                s->temps_removed == 1 ? "" : "s");
    const struct act_counts *c = &s->counts;
    if (!c->apply)
        fprintf(out, "Plan: %zu repair%s, %zu write%s. Dry run: nothing was changed; add --apply to do it.\n",
                p->count, p->count == 1 ? "" : "s", total_steps(p), total_steps(p) == 1 ? "" : "s");
    else
        fprintf(out, "Repaired %zu of %zu item%s; %zu failed, %zu skipped, %zu not reached.\n", c->done, p->count,
                p->count == 1 ? "" : "s", c->failed, c->skipped, c->not_reached);
    act_print_young(out, p->young_skipped, o->min_age);
    act_print_errors_left(out, p->errors_left, "not repaired (see the notes and --report).");
    act_print_outcome(out, c, "stopped after the current item; run again to go on.");
}

void repair_print(FILE *out, const char *root, const struct repair_plan *p, const struct repair_summary *s,
                  const struct options *o)
{
    bool apply = s->counts.apply;
    if (o->json) {
        print_json(out, root, p, s);
    } else if (!o->quiet || p->count || p->errors_left || s->counts.refused) {
        if (!o->quiet)
            act_print_header(out, "repair", root, apply, "");
        for (const struct repair_item *it = p->items; it < p->items + p->count; it++)
            print_item(out, it, apply);
        act_print_notes(out, p->notes, p->note_count, p->count > 0);
        print_summary(out, p, s, o);
    }
}
