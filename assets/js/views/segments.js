// Segments (saved filters): the segments page, the header shown above a
// segment's contacts, saving the current view, and export of any view.

import { api } from '../api.js';
import { Banner, confirm, prompt, toast } from '../components.js';
import { useSession } from '../context.js';
import { Time, formatNumber, plural } from '../format.js';
import { html, useState } from '../html.js';
import { filterJson, filterQuery, viewOfFilter } from '../state.js';
import { SegmentSelect, SortSelect } from './controls.js';

/** A saved filter in words. */
export function describeFilter(filter) {
  const parts = [];
  if (filter.search) parts.push(`search “${filter.search}”`);
  if (filter.tags?.length) {
    const logic = filter.tags.length > 1 ? (filter.tagsLogic === 'AND' ? 'all of ' : 'any of ') : '';
    parts.push(`tags ${logic}${filter.tags.join(', ')}`);
  }
  if (filter.state?.length) parts.push(`state ${filter.state.join(', ')}`);
  if (filter.zip) parts.push(`ZIP ${filter.zip}`);
  const flag = (value, yes, no) => value !== undefined && value !== null && parts.push(value ? yes : no);
  flag(filter.isTextable, 'textable', 'not textable');
  flag(filter.optedOut, 'opted out', 'opted in');
  flag(filter.hasEmail, 'has email', 'no email');
  flag(filter.hasPhone, 'has phone', 'no phone');
  return parts.length ? parts.join(' · ') : 'every contact';
}

function renameSegment(segment, reload) {
  return prompt({
    title: 'Rename segment',
    label: 'Segment name',
    value: segment.name,
    testid: 'segment-name',
    confirmLabel: 'Rename',
    submit: async (name) => {
      const saved = await api.updateSegment(segment.id, { name });
      reload();
      toast(`Renamed to “${saved.name}”.`, 'success');
      return saved;
    },
  });
}

async function deleteSegment(segment, reload, after) {
  const ok = await confirm({
    title: `Delete the segment “${segment.name}”?`,
    message: 'Only the saved filter is deleted; its contacts stay as they are.',
    confirmLabel: 'Delete segment',
    danger: true,
  });
  if (!ok) return;
  try {
    await api.deleteSegment(segment.id);
    toast(`Deleted the segment “${segment.name}”.`, 'success');
    reload();
    after?.();
  } catch (err) {
    toast(err.message, 'error');
  }
}

export function SegmentsPage() {
  const { segments, segmentsError, reloadSegments, navigate, canWrite } = useSession();
  return html`<section class="page" aria-labelledby="segments-title">
    <header class="page-head">
      <div class="page-title">
        <h1 id="segments-title">Segments</h1>
        ${segments && html`<span class="total">${plural(segments.length, 'segment')}</span>`}
      </div>
    </header>
    ${segmentsError
      ? html`<${Banner} error=${segmentsError} onRetry=${reloadSegments} />`
      : segments === null
      ? html`<div class="progress" data-testid="loading"></div>`
      : segments.length === 0
        ? html`<div class="empty">
            <h2>No segments yet</h2>
            <p>Filter or search the contacts list, then choose “Save as segment” to keep that view.</p>
          </div>`
        : html`<table class="list-table stack">
            <thead>
              <tr>
                <th>Name</th>
                <th>Filters</th>
                <th class="num">Contacts</th>
                <th>Updated</th>
                <th><span class="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              ${segments.map(
                (s) => html`<tr data-testid="segment-item" data-id=${s.id} key=${s.id}>
                  <td data-label="Name">
                    <a href=${`#/contacts?segment=${s.id}`} onClick=${(e) => {
                      e.preventDefault();
                      navigate({ page: 'contacts', segment: s.id, contact: '' });
                    }}>${s.name}</a>
                  </td>
                  <td data-label="Filters" class="muted">${describeFilter(s.filters)}</td>
                  <td data-label="Contacts" class="num">${formatNumber(s.contactCount)}</td>
                  <td data-label="Updated"><${Time} iso=${s.updatedAt} /></td>
                  <td class="actions">
                    ${canWrite &&
                    html`<button type="button" onClick=${() => renameSegment(s, reloadSegments)}>Rename</button>
                      <button type="button" class="danger-text" onClick=${() => deleteSegment(s, reloadSegments)}>Delete</button>`}
                  </td>
                </tr>`,
              )}
            </tbody>
          </table>`}
  </section>`;
}

/** Shown instead of the filters when the list is a segment's. */
export function SegmentHeader({ segment }) {
  const { view, navigate, canWrite, reloadSegments } = useSession();
  if (!segment) return html`<div class="segment-head"><${SegmentSelect} /></div>`;
  return html`<div class="segment-head">
    <div class="summary">
      <span class="label muted">Saved filter</span>
      <p>${describeFilter(segment.filters)}</p>
    </div>
    <div class="actions">
      <${SegmentSelect} />
      <${SortSelect} />
      ${canWrite &&
      html`<button type="button" onClick=${() => renameSegment(segment, reloadSegments)}>Rename</button>
        <button
          type="button"
          onClick=${() => navigate({ ...viewOfFilter(view, segment.filters), editSegment: segment.id })}
        >
          Edit filters
        </button>
        <button
          type="button"
          class="danger-text"
          onClick=${() => deleteSegment(segment, reloadSegments, () => navigate({ segment: '' }))}
        >
          Delete
        </button>`}
    </div>
  </div>`;
}

/** Saves the current view as a new segment, or into the one being edited. */
export function SaveSegmentButton({ view }) {
  const { navigate, reloadSegments, segments } = useSession();
  const editing = view.editSegment && segments ? segments.find((s) => s.id === view.editSegment) : null;
  const saveNew = () =>
    prompt({
      title: 'Save as segment',
      message: `Contacts matching ${describeFilter(filterJson(view))}. The segment stays live: it always lists whoever matches now.`,
      label: 'Segment name',
      testid: 'segment-name',
      confirmLabel: 'Save segment',
      submit: async (name) => {
        const segment = await api.createSegment({ name, filters: filterJson(view) });
        reloadSegments();
        toast(`Saved the segment “${segment.name}”.`, 'success');
        navigate({ ...viewOfFilter(view, {}), segment: segment.id, editSegment: '' });
        return segment;
      },
    });
  const saveInto = async () => {
    try {
      const segment = await api.updateSegment(editing.id, { filters: filterJson(view) });
      reloadSegments();
      toast(`Updated the filters of “${segment.name}”.`, 'success');
      navigate({ ...viewOfFilter(view, {}), segment: segment.id, editSegment: '' });
    } catch (err) {
      toast(err.message, 'error');
    }
  };
  if (editing) {
    return html`<button type="button" class="primary" data-testid="update-segment" onClick=${saveInto}>
        Save filters to “${editing.name}”
      </button>
      <button type="button" onClick=${() => navigate({ segment: editing.id, editSegment: '' })}>Cancel editing</button>`;
  }
  return html`<button type="button" data-testid="save-segment" onClick=${saveNew}>Save as segment</button>`;
}

/**
 * Exports the current view. The server hands out a short-lived, single-use
 * link, so the browser downloads and streams the file itself and the API
 * key never appears in a URL.
 */
export function ExportButton({ view }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const start = async (format) => {
    setOpen(false);
    setBusy(true);
    try {
      const query = view.segment ? { segmentId: view.segment } : filterQuery(view);
      const link = await api.exportLink({ ...query, format });
      const a = document.createElement('a');
      a.href = link.url;
      a.download = '';
      document.body.appendChild(a);
      a.click();
      a.remove();
      toast('The export is downloading.', 'success');
    } catch (err) {
      toast(err.message, 'error');
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="menu-wrap">
    <button type="button" data-testid="export" aria-haspopup="menu" aria-expanded=${open} disabled=${busy} onClick=${() => setOpen(!open)}>
      ${busy ? 'Preparing…' : 'Export'}
    </button>
    ${open &&
    html`<div class="menu" role="menu" onKeyDown=${(e) => e.key === 'Escape' && (e.stopPropagation(), setOpen(false))}>
      <button type="button" role="menuitem" data-testid="export-csv" onClick=${() => start('csv')}>CSV (spreadsheets)</button>
      <button type="button" role="menuitem" data-testid="export-ndjson" onClick=${() => start('ndjson')}>NDJSON (one JSON contact per line)</button>
    </div>`}
  </div>`;
}
