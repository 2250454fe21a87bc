/* reap_output.c — the reaper's plan and results, for people and for scripts.
 *
 * Owns: the text rendering and the --json shape of --reap. The JSON object
 * (stable, "version":1) is:
 *
 *   {"version":1,
 *    "mode":"dry-run" | "apply" | "quarantine",
 *    "root":"/var/lib/docker", "quarantine":null | "DIR",
 *    "items":[{"check":"layer-unreferenced","severity":"garbage","object":"<id>",
 *              "why":"...", "bytes":123,          -- reclaimable, from the finding
 *              "steps":[{"action":"rename-aside|remove|untag","path":"<root-relative>"}],
 *              "tags":["repo:tag",...],           -- untag steps only
 *              "result":"planned|done|failed|skipped|not-reached",
 *              "error":null | "...", "freed":0}], -- bytes the delete released
 *    "notes":["..."],                             -- plan-time remarks
 *    "summary":{"items":n,"paths":n,"planned_bytes":n,"done":n,"failed":n,"skipped":n,
 *               "not_reached":n,"freed_bytes":n,"moved_bytes":n,"young_skipped":n,
 *               "errors_left":n,"garbage_left":n,"warnings":n,"trash_finished":n,
 *               "trash_finished_bytes":n,"trash_pending":n,"interrupted":false,
 *               "refused":null | "why"}}
 *
 * Strings that come from the store are escaped (text_escape) in both. */
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

/* What a step touches: for the removal of a renamed-aside layer dir, the
 * -removing name (known once the rename happened). Caller frees. */
static char *step_path(const struct reap_step *s)
{
    if (s->action == ACT_REMOVE_ASIDE)
        return s->aside ? reap_strdup(s->aside) : reap_printf("%s-<random>-removing", s->path);
    return reap_strdup(s->path);
}

static cJSON *item_json(const struct reap_item *it)
{
    cJSON *o = cJSON_CreateObject();
    add_escaped(o, "check", it->check);
    add_escaped(o, "severity", it->severity);
    add_escaped(o, "object", it->object);
    add_escaped(o, "why", it->why);
    cJSON_AddNumberToObject(o, "bytes", (double)it->bytes);
    cJSON *steps = cJSON_AddArrayToObject(o, "steps");
    for (size_t i = 0; i < it->step_count; i++) {
        const struct reap_step *s = &it->steps[i];
        cJSON *so = cJSON_CreateObject();
        cJSON_AddStringToObject(so, "action", reap_action_name(s->action));
        char *path = step_path(s);
        add_escaped(so, "path", path);
        free(path);
        cJSON_AddItemToArray(steps, so);
    }
    if (it->tag_count) {
        cJSON *tags = cJSON_AddArrayToObject(o, "tags");
        for (size_t i = 0; i < it->tag_count; i++) {
            char *e = text_escape(it->tags[i]);
            cJSON_AddItemToArray(tags, cJSON_CreateString(e ? e : ""));
            free(e);
        }
    }
    cJSON_AddStringToObject(o, "result", item_result_name(it->result));
    add_escaped(o, "error", it->error);
    cJSON_AddNumberToObject(o, "freed", (double)it->freed);
    return o;
}

cJSON *reap_json(const char *root, const struct reap_plan *plan, const struct reap_summary *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddStringToObject(o, "mode", !s->apply ? "dry-run" : s->quarantine ? "quarantine" : "apply");
    add_escaped(o, "root", root);
    if (s->quarantine_dir)
        add_escaped(o, "quarantine", s->quarantine_dir);
    else
        cJSON_AddNullToObject(o, "quarantine");
    cJSON *items = cJSON_AddArrayToObject(o, "items");
    for (size_t i = 0; i < plan->count; i++)
        cJSON_AddItemToArray(items, item_json(&plan->items[i]));
    cJSON *notes = cJSON_AddArrayToObject(o, "notes");
    for (size_t i = 0; i < plan->note_count; i++) {
        char *e = text_escape(plan->notes[i]);
        cJSON_AddItemToArray(notes, cJSON_CreateString(e ? e : ""));
        free(e);
    }
    cJSON *sum = cJSON_AddObjectToObject(o, "summary");
    cJSON_AddNumberToObject(sum, "items", (double)plan->count);
    cJSON_AddNumberToObject(sum, "paths", (double)plan_total_paths(plan));
    cJSON_AddNumberToObject(sum, "planned_bytes", (double)s->planned_bytes);
    cJSON_AddNumberToObject(sum, "done", (double)s->done);
    cJSON_AddNumberToObject(sum, "failed", (double)s->failed);
    cJSON_AddNumberToObject(sum, "skipped", (double)s->skipped);
    cJSON_AddNumberToObject(sum, "not_reached", (double)s->not_reached);
    cJSON_AddNumberToObject(sum, "freed_bytes", (double)s->freed_bytes);
    cJSON_AddNumberToObject(sum, "moved_bytes", (double)s->moved_bytes);
    cJSON_AddNumberToObject(sum, "young_skipped", (double)plan->young_skipped);
    cJSON_AddNumberToObject(sum, "errors_left", (double)plan->errors_left);
    cJSON_AddNumberToObject(sum, "garbage_left", (double)plan->garbage_left);
    cJSON_AddNumberToObject(sum, "warnings", (double)plan->warnings);
    cJSON_AddNumberToObject(sum, "trash_finished", (double)s->trash_finished);
    cJSON_AddNumberToObject(sum, "trash_finished_bytes", (double)s->trash_finished_bytes);
    cJSON_AddNumberToObject(sum, "trash_pending", (double)s->trash_pending);
    cJSON_AddBoolToObject(sum, "interrupted", s->interrupted);
    if (s->refused)
        add_escaped(sum, "refused", s->refusal ? s->refusal : "refused");
    else
        cJSON_AddNullToObject(sum, "refused");
    return o;
}

void reap_print_json(FILE *out, const char *root, const struct reap_plan *plan, const struct reap_summary *s)
{
    cJSON *o = reap_json(root, plan, s);
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

static void print_step(FILE *out, const struct reap_step *s, bool apply)
{
    fprintf(out, "      %-7s ", s->action == ACT_RENAME_ASIDE ? "rename" : reap_action_name(s->action));
    char *path = step_path(s);
    print_escaped(out, path);
    free(path);
    if (s->action == ACT_RENAME_ASIDE) {
        fputs(" -> ", out);
        print_escaped(out, s->aside ? s->aside : "<chain>-<random>-removing");
    }
    if (apply && !s->done)
        fputs("   (not done)", out);
    fputc('\n', out);
}

static void print_item(FILE *out, const struct reap_item *it, bool apply, int exact)
{
    char size[32];
    fprintf(out, "%-8s %-26s ", apply ? item_result_name(it->result) : it->severity, it->check);
    print_escaped(out, it->object);
    fprintf(out, "  %s", text_size(it->bytes, exact, size, sizeof size));
    if (apply && it->result == RES_DONE && it->freed > 0)
        fprintf(out, " (freed %s)", text_size(it->freed, exact, size, sizeof size));
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
        print_step(out, &it->steps[i], apply && it->result != RES_PLANNED);
    for (size_t i = 0; i < it->tag_count; i++) {
        fputs("      tag     ", out);
        print_escaped(out, it->tags[i]);
        fputc('\n', out);
    }
}

static void print_summary(FILE *out, const struct reap_plan *plan, const struct reap_summary *s,
                          const struct options *o)
{
    char a[32], b[32], dur[32];
    int exact = o->exact_bytes;
    if (s->trash_finished)
        fprintf(out, "Finished %zu trash entr%s left by an interrupted run (%s).\n", s->trash_finished,
                s->trash_finished == 1 ? "y" : "ies", text_size(s->trash_finished_bytes, exact, a, sizeof a));
    if (s->trash_pending)
        fprintf(out, "%zu trash entr%s left by an interrupted run will be deleted by --apply.\n",
                s->trash_pending, s->trash_pending == 1 ? "y" : "ies");
    if (!s->apply)
        fprintf(out, "Plan: %zu item%s, %zu path%s, %s reclaimable. Dry run: nothing was changed; add --apply to do it.\n",
                plan->count, plan->count == 1 ? "" : "s", plan_total_paths(plan),
                plan_total_paths(plan) == 1 ? "" : "s", text_size(s->planned_bytes, exact, a, sizeof a));
    else if (s->quarantine)
        fprintf(out, "Quarantined %zu of %zu item%s (%s moved); %zu failed, %zu skipped, %zu not reached.\n",
                s->done, plan->count, plan->count == 1 ? "" : "s", text_size(s->moved_bytes, exact, a, sizeof a),
                s->failed, s->skipped, s->not_reached);
    else
        fprintf(out, "Reaped %zu of %zu item%s: freed %s of %s planned; %zu failed, %zu skipped, %zu not reached.\n",
                s->done, plan->count, plan->count == 1 ? "" : "s", text_size(s->freed_bytes, exact, a, sizeof a),
                text_size(s->planned_bytes, exact, b, sizeof b), s->failed, s->skipped, s->not_reached);
    if (plan->young_skipped)
        fprintf(out, "%lld finding%s younger than %s skipped (a pull or build may still be writing).\n",
                (long long)plan->young_skipped, plan->young_skipped == 1 ? "" : "s",
                text_duration(o->min_age, dur, sizeof dur));
    if (plan->errors_left)
        fprintf(out, "%lld error%s left untouched (see --report; --include image-layer-missing,"
                "layer-cache-id-dangling removes what makes a re-pull fail).\n",
                (long long)plan->errors_left, plan->errors_left == 1 ? " is" : "s are");
    if (plan->garbage_left)
        fprintf(out, "%lld garbage finding%s not planned (see the notes).\n", (long long)plan->garbage_left,
                plan->garbage_left == 1 ? " was" : "s were");
    if (s->interrupted)
        fputs("Interrupted: stopped after the current item; the store is consistent, run again to go on.\n", out);
    if (s->refused)
        fprintf(out, "Stopped: %s\n", s->refusal ? s->refusal : "refused");
}

void reap_print_text(FILE *out, const char *root, const struct reap_plan *plan, const struct reap_summary *s,
                     const struct options *o)
{
    if (o->quiet && plan->count == 0 && !s->refused)
        return;
    if (!o->quiet) {
        fputs(s->apply ? "ovl2fsck reap of " : "ovl2fsck reap plan for ", out);
        print_escaped(out, root);
        fputs(s->apply ? (s->quarantine ? " (quarantine)\n\n" : "\n\n") : " (dry run)\n\n", out);
    }
    for (size_t i = 0; i < plan->count; i++)
        print_item(out, &plan->items[i], s->apply, o->exact_bytes);
    for (size_t i = 0; i < plan->note_count; i++) {
        fputs("note: ", out);
        print_escaped(out, plan->notes[i]);
        fputc('\n', out);
    }
    if (plan->count || plan->note_count)
        fputc('\n', out);
    print_summary(out, plan, s, o);
}
