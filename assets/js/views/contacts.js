// The contacts list: search as you type, filters, the table (cards at narrow
// widths), cursor paging, selection and bulk actions, and the detail panel.

import { api } from '../api.js';
import { Banner, ChipInput, Select, Skeleton, useAbortableEffect } from '../components.js';
import { useSession } from '../context.js';
import { Time, displayName, formatNumber, formatPhone, highlight, plural, searchTerms, textability } from '../format.js';
import { html, useEffect, useRef, useState } from '../html.js';
import { clearedFilters, hasFilters, listQuery } from '../state.js';
import { stateCode, suggestStates } from '../states.js';
import { useTagSuggestions } from '../suggestions.js';
import { BulkBar, SelectAllBanner, useSelection } from './bulk.js';
import { DetailPanel } from './detail.js';
import { SegmentSelect, SortSelect } from './controls.js';
import { ExportButton, SaveSegmentButton, SegmentHeader } from './segments.js';

const PAGE_SIZE = 50;

/**
 * A User Timing mark, once per page load: when the first rows and the first
 * total reached the screen (read by `benches/ui.rs`).
 */
function markOnce(name) {
  if (performance.getEntriesByName(name, 'mark').length === 0) {
    requestAnimationFrame(() => performance.mark(name));
  }
}
const SEARCH_DELAY_MS = 200;

export function ContactsPage() {
  const { view, navigate, revision, canWrite, segments } = useSession();
  const [list, setList] = useState({ status: 'loading', contacts: [], cursor: null, hasMore: false, error: null });
  const [total, setTotal] = useState(null);
  const [totalError, setTotalError] = useState(null);
  const [retry, setRetry] = useState(0);
  const [recount, setRecount] = useState(0);
  const more = useRef(null);
  const query = listQuery(view);
  const queryKey = JSON.stringify(query);
  const selection = useSelection(queryKey);
  const tagSuggestions = useTagSuggestions(revision);

  // The first page and the total are two requests: the page shows as soon as
  // it is read, whatever counting the matches costs.
  useAbortableEffect(
    (signal) => {
      more.current?.abort();
      setList((l) => ({ ...l, status: 'loading', error: null }));
      api
        .listContacts({ ...query, limit: PAGE_SIZE }, signal)
        .then((page) => {
          setList({ status: 'ready', contacts: page.contacts, cursor: page.cursor, hasMore: page.hasMore, error: null });
          // A write may have moved selected contacts out of the view.
          selection.retain(page.contacts.map((c) => c.id));
          markOnce('roster:first-rows');
        })
        .catch((error) => {
          if (error.name !== 'AbortError') setList((l) => ({ ...l, status: 'error', error }));
        });
    },
    [queryKey, revision, retry],
  );
  useAbortableEffect(
    (signal) => {
      setTotal(null);
      setTotalError(null);
      api
        .listContacts({ ...query, limit: 1, includeTotal: true }, signal)
        .then((page) => {
          setTotal(page.total);
          markOnce('roster:total');
        })
        .catch((error) => {
          if (error.name !== 'AbortError') setTotalError(error);
        });
    },
    [queryKey, revision, recount],
  );

  // A next page belongs to the view it was asked for: a change of view
  // aborts it (above), so it can never be appended to another view's rows.
  const loadMore = async () => {
    const controller = new AbortController();
    more.current = controller;
    setList((l) => ({ ...l, status: 'more' }));
    try {
      const page = await api.listContacts({ ...query, limit: PAGE_SIZE, cursor: list.cursor }, controller.signal);
      setList((l) => ({
        status: 'ready',
        contacts: [...l.contacts, ...page.contacts],
        cursor: page.cursor,
        hasMore: page.hasMore,
        error: null,
      }));
    } catch (error) {
      if (error.name !== 'AbortError') setList((l) => ({ ...l, status: 'ready', error }));
    }
  };

  const segment = view.segment && segments ? segments.find((s) => s.id === view.segment) : null;
  const filtered = hasFilters(view);
  const firstLoad = list.status === 'loading' && list.contacts.length === 0;
  const terms = searchTerms(view.segment ? segment?.filters?.search : view.search);
  const open = (id) => navigate({ contact: id });

  return html`
    <section class=${view.contact ? 'page contacts with-panel' : 'page contacts'} aria-labelledby="contacts-title">
      <header class="page-head">
        <div class="page-title">
          <h1 id="contacts-title">${segment ? segment.name : 'Contacts'}</h1>
          <span class="total" data-testid="total" aria-live="polite">
            ${totalError
              ? html`<span class="danger-text">Could not count the matches.</span>${' '}
                  <button type="button" class="link" onClick=${() => setRecount((r) => r + 1)}>Retry</button>`
              : total === null
                ? html`<span class="muted">Counting…</span>`
                : plural(total, 'contact')}
          </span>
        </div>
        <div class="page-actions">
          <${ExportButton} view=${view} />
          ${!view.segment && (filtered || view.editSegment) && canWrite && html`<${SaveSegmentButton} view=${view} />`}
          ${canWrite &&
          html`<button type="button" class="primary" data-testid="new-contact" onClick=${() => navigate({ contact: 'new' })}>
            New contact
          </button>`}
        </div>
      </header>
      ${view.segment ? html`<${SegmentHeader} segment=${segment} />` : html`<${Filters} suggestions=${tagSuggestions} />`}
      <${Banner} error=${list.error} onRetry=${list.error?.transient ? () => setRetry((r) => r + 1) : null} />
      ${canWrite &&
      html`<${BulkBar} selection=${selection} total=${total} contacts=${list.contacts} />
        <${SelectAllBanner} selection=${selection} total=${total} pageCount=${list.contacts.length} hasMore=${list.hasMore} />`}
      ${firstLoad
        ? html`<${Skeleton} />`
        : list.status !== 'error' && list.contacts.length === 0 && list.status !== 'loading'
          ? filtered
            ? html`<${NoResults} />`
            : html`<${FirstRun} />`
          : html`
              ${list.status === 'loading' && html`<div class="progress" data-testid="loading" aria-label="Loading"></div>`}
              <${ContactTable}
                contacts=${list.contacts}
                terms=${terms}
                busy=${list.status === 'loading'}
                selection=${canWrite ? selection : null}
                openId=${view.contact}
                onOpen=${open}
              />
              ${list.hasMore &&
              html`<div class="more">
                <button type="button" data-testid="load-more" disabled=${list.status === 'more'} onClick=${loadMore}>
                  ${list.status === 'more' ? 'Loading…' : `Load ${PAGE_SIZE} more`}
                </button>
                <span class="muted">Showing ${formatNumber(list.contacts.length)}${total !== null ? ` of ${formatNumber(total)}` : ''}</span>
              </div>`}
            `}
    </section>
    ${view.contact && html`<${DetailPanel} id=${view.contact} onClose=${() => navigate({ contact: '' })} />`}
  `;
}

/** An exact ZIP, applied on Enter or when the box loses focus. */
function ZipFilter() {
  const { view, navigate } = useSession();
  const [text, setText] = useState(view.zip);
  useEffect(() => setText(view.zip), [view.zip]);
  const apply = () => text.trim() !== view.zip && navigate({ zip: text.trim() });
  return html`<label class="field zip-field" for="filter-zip">
    <span class="label">ZIP</span>
    <input
      id="filter-zip"
      data-testid="filter-zip"
      inputmode="numeric"
      placeholder="Any"
      value=${text}
      onInput=${(e) => setText(e.target.value)}
      onBlur=${apply}
      onKeyDown=${(e) => e.key === 'Enter' && apply()}
    />
  </label>`;
}

const ANY_YES_NO = (yes, no) => [
  ['', 'Any'],
  ['true', yes],
  ['false', no],
];

function Filters({ suggestions }) {
  const { view, navigate } = useSession();
  const [text, setText] = useState(view.search);
  const [open, setOpen] = useState(false);
  const typed = useRef(view.search);

  // Back, reload or a cleared filter set the box from the view.
  useEffect(() => {
    if (view.search !== typed.current) {
      typed.current = view.search;
      setText(view.search);
    }
  }, [view.search]);

  useEffect(() => {
    if (text === typed.current) return undefined;
    const timer = setTimeout(() => {
      typed.current = text;
      navigate({ search: text }, { replace: true });
    }, SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text]);

  const set = (patch) => navigate(patch);
  const active = [view.tags.length, view.state.length, view.zip, view.isTextable, view.optedOut, view.hasEmail, view.hasPhone].filter(Boolean).length;
  return html`
    <div class=${open ? 'filters open' : 'filters'} role="search">
      <label class="field search-field" for="search">
        <span class="label sr-only">Search contacts</span>
        <input
          id="search"
          type="search"
          data-testid="search"
          placeholder="Search names, email, phone   /"
          value=${text}
          autocomplete="off"
          onInput=${(e) => setText(e.target.value)}
          onKeyDown=${(e) => {
            if (e.key === 'Enter') {
              typed.current = text;
              navigate({ search: text }, { replace: true });
            }
          }}
        />
      </label>
      <button type="button" class="filters-toggle" aria-expanded=${open} onClick=${() => setOpen(!open)}>
        ${open ? 'Hide filters' : active ? `Filters (${active})` : 'Filters'}
      </button>
      <div class="filter-row">
        <${ChipInput}
          label="Tags"
          testid="filter-tags"
          inputTestid="filter-tags-input"
          values=${view.tags}
          placeholder="Any tag"
          suggest=${suggestions}
          onChange=${(tags) => set({ tags })}
        />
        <${Select}
          label="Match"
          testid="filter-tags-logic"
          value=${view.tagsLogic}
          options=${[
            ['OR', 'Any of the tags'],
            ['AND', 'All of the tags'],
          ]}
          onChange=${(tagsLogic) => set({ tagsLogic })}
        />
        <${ChipInput}
          label="State"
          testid="filter-state"
          inputTestid="filter-state-input"
          values=${view.state}
          placeholder="Any state"
          suggest=${suggestStates}
          normalize=${stateCode}
          onChange=${(state) => set({ state })}
        />
        <${ZipFilter} />
        <${Select}
          label="Textable"
          testid="filter-textable"
          value=${view.isTextable}
          options=${ANY_YES_NO('Textable', 'Not textable')}
          onChange=${(isTextable) => set({ isTextable })}
        />
        <${Select}
          label="Opted out"
          testid="filter-opted-out"
          value=${view.optedOut}
          options=${ANY_YES_NO('Opted out', 'Opted in')}
          onChange=${(optedOut) => set({ optedOut })}
        />
        <${Select}
          label="Email"
          testid="filter-has-email"
          value=${view.hasEmail}
          options=${ANY_YES_NO('Has email', 'No email')}
          onChange=${(hasEmail) => set({ hasEmail })}
        />
        <${Select}
          label="Phone"
          testid="filter-has-phone"
          value=${view.hasPhone}
          options=${ANY_YES_NO('Has phone', 'No phone')}
          onChange=${(hasPhone) => set({ hasPhone })}
        />
        <${SortSelect} />
        <${SegmentSelect} />
        ${hasFilters(view) &&
        html`<button type="button" class="link clear" data-testid="clear-filters" onClick=${() => navigate(clearedFilters(view))}>
          Clear filters
        </button>`}
      </div>
    </div>
  `;
}

/** The active filters in words, for the no-results state. */
function describeFilters(view) {
  const yesNo = (value, yes, no) => (value === 'true' ? yes : value === 'false' ? no : null);
  return [
    view.search.trim() && `search “${view.search.trim()}”`,
    view.tags.length && `${view.tags.length > 1 ? (view.tagsLogic === 'AND' ? 'all of' : 'any of') : 'tag'} ${view.tags.join(', ')}`,
    view.state.length && `state ${view.state.join(', ')}`,
    view.zip.trim() && `ZIP ${view.zip.trim()}`,
    yesNo(view.isTextable, 'textable', 'not textable'),
    yesNo(view.optedOut, 'opted out', 'opted in'),
    yesNo(view.hasEmail, 'has email', 'no email'),
    yesNo(view.hasPhone, 'has phone', 'no phone'),
    view.segment && 'this segment',
  ].filter(Boolean);
}

function NoResults() {
  const { view, navigate } = useSession();
  return html`<div class="empty" data-testid="empty-no-results">
    <h2>No contacts match</h2>
    <p>Nothing matches ${describeFilters(view).join(' · ')}.</p>
    <button type="button" data-testid="clear-filters" onClick=${() => navigate(clearedFilters(view))}>Clear filters</button>
  </div>`;
}

function FirstRun() {
  const { navigate, canWrite } = useSession();
  return html`<div class="empty" data-testid="empty-first-run">
    <h2>No contacts yet</h2>
    <p>${canWrite ? 'Add your first contact, or import a spreadsheet of them.' : 'This organization has no contacts yet.'}</p>
    ${canWrite &&
    html`<div class="empty-actions">
      <button type="button" class="primary" data-testid="new-contact" onClick=${() => navigate({ contact: 'new' })}>New contact</button>
      <a class="button" href="#/imports" onClick=${(e) => {
        e.preventDefault();
        navigate({ page: 'imports', contact: '' });
      }}>Import a CSV</a>
    </div>`}
  </div>`;
}

const TEXTABLE_LABEL = { yes: 'Yes', no: 'No', pending: 'Pending', '': '—' };

function ContactTable({ contacts, terms, busy, selection, openId, onOpen }) {
  return html`
    <table class=${busy ? 'contacts-table busy' : 'contacts-table'} aria-busy=${busy}>
      <thead>
        <tr>
          ${selection &&
          html`<th class="select">
            <input
              type="checkbox"
              data-testid="select-page"
              aria-label="Select this page"
              checked=${selection.pageChecked(contacts)}
              disabled=${busy}
              onChange=${(e) => selection.selectPage(contacts, e.target.checked)}
            />
          </th>`}
          <th class="col-name">Name</th>
          <th class="col-phone">Phone</th>
          <th class="col-email">Email</th>
          <th class="col-tags">Tags</th>
          <th class="col-state">State</th>
          <th class="col-textable">Textable</th>
          <th class="col-opted">Opted out</th>
          <th class="col-updated">Updated</th>
        </tr>
      </thead>
      <tbody>
        ${contacts.map((c, index) => {
          const textable = textability(c);
          return html`<tr
            key=${c.id}
            data-testid="contact-row"
            data-id=${c.id}
            tabindex="0"
            class=${[c.id === openId && 'open', selection?.has(c.id) && 'selected'].filter(Boolean).join(' ')}
            onClick=${(e) => {
              if (!e.target.closest('input, button, a')) onOpen(c.id);
            }}
            onKeyDown=${(e) => {
              if (e.key === 'Enter' && e.target === e.currentTarget) onOpen(c.id);
            }}
          >
            ${selection &&
            html`<td class="select">
              <input
                type="checkbox"
                data-testid="select-row"
                aria-label=${`Select ${displayName(c)}`}
                checked=${selection.has(c.id)}
                disabled=${busy}
                onClick=${(e) => selection.toggle(contacts, index, e.shiftKey)}
              />
            </td>`}
            <td class="name" data-label="Name">
              ${c.isStarred && html`<span class="star" title="Starred" aria-label="Starred">★ </span>`}
              <span class="name-text">${highlight(displayName(c), terms)}</span>
              ${c.isArchived && html` <span class="badge">archived</span>`}
            </td>
            <td data-label="Phone" class="nowrap">${formatPhone(c.phone)}</td>
            <td data-label="Email" class="email">${highlight(c.email || '', terms)}</td>
            <td data-label="Tags" class="tags">
              ${c.tags.slice(0, 3).map((t) => html`<span class="chip small">${t}</span>`)}
              ${c.tags.length > 3 && html`<span class="muted">+${c.tags.length - 3}</span>`}
            </td>
            <td data-label="State">${c.state || ''}</td>
            <td data-label="Textable"><span class=${`badge textable-${textable || 'none'}`}>${TEXTABLE_LABEL[textable]}</span></td>
            <td data-label="Opted out">${c.isOptedIn ? html`<span class="muted">No</span>` : html`<span class="badge badge-danger">Opted out</span>`}</td>
            <td data-label="Updated" class="nowrap"><${Time} iso=${c.updatedAt} /></td>
          </tr>`;
        })}
      </tbody>
    </table>
  `;
}
