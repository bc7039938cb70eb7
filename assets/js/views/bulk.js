// Selection and bulk actions. Rows are picked one by one (shift-click for a
// range), by page, or as "everything matching": then the request carries the
// view's filter or segment, never a list of ids, so it cannot escape the view.

import { ApiError, api } from '../api.js';
import { confirm, prompt, toast } from '../components.js';
import { useSession } from '../context.js';
import { formatNumber, plural } from '../format.js';
import { html, useEffect, useRef, useState } from '../html.js';
import { filterJson, listQuery } from '../state.js';

/** The selection of one view; it clears whenever `viewKey` changes. */
export function useSelection(viewKey) {
  const [ids, setIds] = useState(() => new Set());
  const [all, setAll] = useState(false);
  const anchor = useRef(null);
  const clear = () => {
    setIds(new Set());
    setAll(false);
    anchor.current = null;
  };
  useEffect(clear, [viewKey]);
  const has = (id) => all || ids.has(id);
  return {
    all,
    ids,
    has,
    clear,
    size: ids.size,
    any: all || ids.size > 0,
    selectAll: () => setAll(true),
    /** Keeps only the ids in `visible` (a reload may have dropped some). */
    retain(visible) {
      const keep = new Set(visible);
      setIds((prev) => {
        const next = new Set([...prev].filter((id) => keep.has(id)));
        return next.size === prev.size ? prev : next;
      });
    },
    toggle(contacts, index, shift) {
      const id = contacts[index].id;
      const next = new Set(all ? contacts.map((c) => c.id) : ids);
      const on = !has(id);
      if (shift && anchor.current !== null && anchor.current < contacts.length) {
        const [from, to] = [Math.min(anchor.current, index), Math.max(anchor.current, index)];
        for (let i = from; i <= to; i += 1) {
          if (on) next.add(contacts[i].id);
          else next.delete(contacts[i].id);
        }
      } else if (on) {
        next.add(id);
      } else {
        next.delete(id);
      }
      anchor.current = index;
      setAll(false);
      setIds(next);
    },
    selectPage(contacts, on) {
      const next = new Set(all ? [] : ids);
      for (const c of contacts) {
        if (on) next.add(c.id);
        else next.delete(c.id);
      }
      setAll(false);
      setIds(next);
    },
    pageChecked: (contacts) => contacts.length > 0 && contacts.every((c) => has(c.id)),
  };
}

const ACTIONS = {
  addTags: { label: 'Add tag', testid: 'bulk-add-tag', verb: (t) => `add the tag “${t}” to` },
  removeTags: { label: 'Remove tag', testid: 'bulk-remove-tag', verb: (t) => `remove the tag “${t}” from` },
  optOut: { label: 'Opt out', testid: 'bulk-opt-out', verb: () => 'opt out' },
  optIn: { label: 'Opt in', testid: 'bulk-opt-in', verb: () => 'opt back in' },
  archive: { label: 'Archive', testid: 'bulk-archive', verb: () => 'archive' },
  delete: { label: 'Delete', testid: 'bulk-delete', verb: () => 'permanently delete' },
};

const DONE = {
  addTags: 'Tag added',
  removeTags: 'Tag removed',
  optOut: 'Opted out',
  optIn: 'Opted in',
  archive: 'Archived',
  delete: 'Deleted',
};

/** The bulk request's target: the ids, or the view's segment or filter. */
function target(selection, view) {
  if (!selection.all) return { ids: [...selection.ids] };
  if (view.segment) return { segmentId: view.segment };
  const filter = filterJson(view);
  return Object.keys(filter).length ? { filter } : { filter, all: true };
}

export function BulkBar({ selection, total }) {
  const { view, changed } = useSession();
  const [running, setRunning] = useState(false);
  // The view when the action is sent, which Back may have changed while a
  // dialog was open.
  const latest = useRef(view);
  latest.current = view;
  if (!selection.any) return null;
  const count = selection.all ? total : selection.size;
  // "Everything matching" is confirmed with its count, so it waits for it.
  const waiting = selection.all && total === null;

  const run = async (action) => {
    let tag = null;
    if (action === 'addTags' || action === 'removeTags') {
      tag = await prompt({
        title: ACTIONS[action].label,
        label: 'Tag',
        testid: 'bulk-tag-input',
        confirmLabel: 'Continue',
      });
      if (!tag) return;
    }
    const what = ACTIONS[action].verb(tag);
    const scope = selection.all
      ? 'every contact matching this view, as the server finds them when the action runs'
      : 'the selected contacts';
    const consequences = {
      delete: ' Their notes and history are deleted too. This cannot be undone.',
      optIn: ' Only opt people back in who asked for it.',
      optOut: ' They will not receive messages.',
    };
    const ok = await confirm({
      title: `${ACTIONS[action].label}?`,
      count: count ?? 0,
      message: `This will ${what} ${scope}.${consequences[action] || ''}`,
      confirmLabel: ACTIONS[action].label,
      danger: action === 'delete' || action === 'optIn',
    });
    if (!ok) return;
    if (JSON.stringify(listQuery(latest.current)) !== JSON.stringify(listQuery(view))) {
      toast('The view changed before the action was sent; nothing was done.', 'error');
      return;
    }
    setRunning(true);
    try {
      const body = { action, ...target(selection, view) };
      if (tag) body.tags = [tag];
      const result = await api.bulk(body);
      toast(
        `${DONE[action]}: ${formatNumber(result.matched)} matched, ${formatNumber(result.updated)} updated.`,
        'success',
      );
      selection.clear();
      changed();
    } catch (err) {
      toast(err instanceof ApiError ? err.message : String(err), 'error');
    } finally {
      setRunning(false);
    }
  };

  return html`<div class="bulk-bar" data-testid="bulk-bar" role="region" aria-label="Bulk actions">
    <span class="bulk-count">
      ${selection.all
        ? total === null
          ? 'All matching selected'
          : `All ${formatNumber(total)} selected`
        : `${formatNumber(selection.size)} selected`}
    </span>
    <div class="bulk-actions">
      ${Object.entries(ACTIONS).map(
        ([action, { label, testid }]) => html`<button
          type="button"
          class=${action === 'delete' ? 'danger-text' : ''}
          data-testid=${testid}
          disabled=${running || waiting}
          title=${waiting ? 'Waiting for the count of matching contacts' : null}
          onClick=${() => run(action)}
        >
          ${label}
        </button>`,
      )}
      <button type="button" class="link" onClick=${selection.clear}>Clear selection</button>
    </div>
  </div>`;
}

export function SelectAllBanner({ selection, total, pageCount, hasMore }) {
  if (!selection.any) return null;
  if (selection.all) {
    return html`<div class="select-banner" role="status">
      ${'All '}${total === null ? '' : html`<strong>${formatNumber(total)}</strong> `}contacts matching this view are selected.${' '}
      Actions apply to the view's filter as the server evaluates it when they run.
    </div>`;
  }
  const more = hasMore || (total !== null && total > selection.size);
  if (!more) return null;
  return html`<div class="select-banner" role="status">
    ${plural(selection.size, 'contact')} selected${selection.size >= pageCount ? ' on this page' : ''}.${' '}
    <button type="button" class="link" data-testid="select-all-matching" onClick=${selection.selectAll}>
      Select all ${total === null ? 'matching' : `${formatNumber(total)} matching`} contacts
    </button>
  </div>`;
}
