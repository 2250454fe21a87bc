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

/* What a step touches: for the removal of a renamed-aside layer dir, the
 * -removing name (known once the rename happened). Caller frees. */
static char *step_path(const struct reap_step *s)
{
    if (s->action == REAP_REMOVE_ASIDE)
        return s->aside ? act_strdup(s->aside) : act_printf("%s-<random>-removing", s->path);
    return act_strdup(s->path);
}

static cJSON *item_json(const struct reap_item *it)
{
    cJSON *steps;
    cJSON *o = act_json_item_begin(it->check, it->severity, it->object, it->why, it->bytes, &steps);
    for (size_t i = 0; i < it->step_count; i++) {
        char *path = step_path(&it->steps[i]);
        act_json_add_step(steps, reap_action_name(it->steps[i].action), path);
        free(path);
    }
    if (it->tag_count) {
        cJSON *tags = cJSON_AddArrayToObject(o, "tags");
        for (size_t i = 0; i < it->tag_count; i++) {
            char *e = text_escape(it->tags[i]);
            cJSON_AddItemToArray(tags, cJSON_CreateString(e ? e : ""));
            free(e);
        }
    }
    act_json_item_end(o, it->result, it->error, it->freed);
    return o;
}

cJSON *reap_json(const char *root, const struct reap_plan *plan, const struct reap_summary *s)
{
    const struct act_counts *c = &s->counts;
    cJSON *o = act_json_begin(!c->apply ? "dry-run" : s->quarantine ? "quarantine" : "apply", root);
    act_json_add_escaped(o, "quarantine", s->quarantine_dir);
    cJSON *items = cJSON_AddArrayToObject(o, "items");
    for (size_t i = 0; i < plan->count; i++)
        cJSON_AddItemToArray(items, item_json(&plan->items[i]));
    cJSON *sum = act_json_add_summary(o, plan->notes, plan->note_count, plan->count);
    cJSON_AddNumberToObject(sum, "paths", (double)reap_plan_paths(plan));
    cJSON_AddNumberToObject(sum, "planned_bytes", (double)s->planned_bytes);
    act_json_add_counts(sum, c);
    cJSON_AddNumberToObject(sum, "freed_bytes", (double)s->freed_bytes);
    cJSON_AddNumberToObject(sum, "moved_bytes", (double)s->moved_bytes);
    cJSON_AddNumberToObject(sum, "young_skipped", (double)plan->young_skipped);
    cJSON_AddNumberToObject(sum, "errors_left", (double)plan->errors_left);
    cJSON_AddNumberToObject(sum, "garbage_left", (double)plan->garbage_left);
    cJSON_AddNumberToObject(sum, "warnings", (double)plan->warnings);
    cJSON_AddNumberToObject(sum, "trash_finished", (double)s->trash_finished);
    cJSON_AddNumberToObject(sum, "trash_finished_bytes", (double)s->trash_finished_bytes);
    cJSON_AddNumberToObject(sum, "trash_pending", (double)s->trash_pending);
    act_json_add_outcome(sum, c);
    return o;
}

void reap_print_json(FILE *out, const char *root, const struct reap_plan *plan, const struct reap_summary *s)
{
    act_json_print(out, reap_json(root, plan, s));
}

/* ---- text --------------------------------------------------------------- */

static void print_step(FILE *out, const struct reap_step *s, bool apply)
{
    fprintf(out, "      %-7s ", s->action == REAP_RENAME_ASIDE ? "rename" : reap_action_name(s->action));
    char *path = step_path(s);
    act_print_escaped(out, path);
    free(path);
    if (s->action == REAP_RENAME_ASIDE) {
        fputs(" -> ", out);
        act_print_escaped(out, s->aside ? s->aside : "<chain>-<random>-removing");
    }
    if (apply && !s->done)
        fputs("   (not done)", out);
    fputc('\n', out);
}

static void print_item(FILE *out, const struct reap_item *it, bool apply, int exact)
{
    char size[32];
    fprintf(out, "%-8s %-26s ", apply ? act_result_name(it->result) : it->severity, it->check);
    act_print_escaped(out, it->object);
    fprintf(out, "  %s", text_size(it->bytes, exact, size, sizeof size));
    if (apply && it->result == ACT_DONE && it->freed > 0)
        fprintf(out, " (freed %s)", text_size(it->freed, exact, size, sizeof size));
    fputc('\n', out);
    act_print_why(out, it->why, it->error);
    for (size_t i = 0; i < it->step_count; i++)
        print_step(out, &it->steps[i], apply && it->result != ACT_PLANNED);
    for (size_t i = 0; i < it->tag_count; i++) {
        fputs("      tag     ", out);
        act_print_escaped(out, it->tags[i]);
        fputc('\n', out);
    }
}

static void print_summary(FILE *out, const struct reap_plan *plan, const struct reap_summary *s,
                          const struct options *o)
{
    char a[32], b[32];
    int exact = o->exact_bytes;
    if (s->trash_finished)
        fprintf(out, "Finished %zu trash entr%s left by an interrupted run (%s).\n", s->trash_finished,
                s->trash_finished == 1 ? "y" : "ies", text_size(s->trash_finished_bytes, exact, a, sizeof a));
    if (s->trash_pending)
        fprintf(out, "%zu trash entr%s left by an interrupted run will be deleted by --apply.\n",
                s->trash_pending, s->trash_pending == 1 ? "y" : "ies");
    const struct act_counts *c = &s->counts;
    if (!c->apply)
        fprintf(out, "Plan: %zu item%s, %zu path%s, %s reclaimable. Dry run: nothing was changed; add --apply to do it.\n",
                plan->count, plan->count == 1 ? "" : "s", reap_plan_paths(plan),
                reap_plan_paths(plan) == 1 ? "" : "s", text_size(s->planned_bytes, exact, a, sizeof a));
    else if (s->quarantine)
        fprintf(out, "Quarantined %zu of %zu item%s (%s moved); %zu failed, %zu skipped, %zu not reached.\n",
                c->done, plan->count, plan->count == 1 ? "" : "s", text_size(s->moved_bytes, exact, a, sizeof a),
                c->failed, c->skipped, c->not_reached);
    else
        fprintf(out, "Reaped %zu of %zu item%s: freed %s of %s planned; %zu failed, %zu skipped, %zu not reached.\n",
                c->done, plan->count, plan->count == 1 ? "" : "s", text_size(s->freed_bytes, exact, a, sizeof a),
                text_size(s->planned_bytes, exact, b, sizeof b), c->failed, c->skipped, c->not_reached);
    act_print_young(out, plan->young_skipped, o->min_age);
    act_print_errors_left(out, plan->errors_left, "left untouched (see --report; --include image-layer-missing,"
                          "layer-cache-id-dangling removes what makes a re-pull fail).");
    if (plan->garbage_left)
        fprintf(out, "%lld garbage finding%s not planned (see the notes).\n", (long long)plan->garbage_left,
                plan->garbage_left == 1 ? " was" : "s were");
    act_print_outcome(out, c, "stopped after the current item; the store is consistent, run again to go on.");
}

void reap_print(FILE *out, const char *root, const struct reap_plan *plan, const struct reap_summary *s,
                const struct options *o)
{
    const struct act_counts *c = &s->counts;
    if (o->json) {
        reap_print_json(out, root, plan, s);
        return;
    }
    if (o->quiet && plan->count == 0 && !c->refused)
        return;
    if (!o->quiet)
        act_print_header(out, "reap", root, c->apply, s->quarantine ? " (quarantine)" : "");
    for (size_t i = 0; i < plan->count; i++)
        print_item(out, &plan->items[i], c->apply, o->exact_bytes);
    act_print_notes(out, plan->notes, plan->note_count, plan->count > 0);
    print_summary(out, plan, s, o);
}
