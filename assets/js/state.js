// The view lives in the URL hash (`#/contacts?search=jane&tags=vip&contact=…`)
// so any screen can be bookmarked, shared, reloaded and reached with Back.
// Typing replaces the history entry; every other change pushes one.

import { useCallback, useEffect, useRef, useState } from './html.js';

export const PAGES = ['contacts', 'segments', 'tags', 'imports'];

/** The contacts filters a view can carry, as the API names them. */
export const FILTER_KEYS = ['search', 'tags', 'tagsLogic', 'state', 'zip', 'isTextable', 'optedOut', 'hasEmail', 'hasPhone'];

const LISTS = new Set(['tags', 'state']);

export function emptyView() {
  return {
    page: 'contacts',
    search: '',
    tags: [],
    tagsLogic: 'OR',
    state: [],
    zip: '',
    isTextable: '',
    optedOut: '',
    hasEmail: '',
    hasPhone: '',
    sortBy: 'updated_at',
    segment: '',
    editSegment: '',
    contact: '',
    import: '',
  };
}

const BOOLEAN = new Set(['', 'true', 'false']);

export function parseHash(hash) {
  const view = emptyView();
  const text = (hash || '').replace(/^#\/?/, '');
  const [path, query = ''] = text.split('?');
  const page = path.split('/')[0];
  if (PAGES.includes(page)) view.page = page;
  const params = new URLSearchParams(query);
  for (const [name, value] of params) {
    if (LISTS.has(name)) {
      view[name] = value.split(',').map((v) => v.trim()).filter(Boolean);
    } else if (name === 'tagsLogic') {
      view.tagsLogic = value.toUpperCase() === 'AND' ? 'AND' : 'OR';
    } else if (name === 'sortBy') {
      view.sortBy = value === 'created_at' ? 'created_at' : 'updated_at';
    } else if (['isTextable', 'optedOut', 'hasEmail', 'hasPhone'].includes(name)) {
      if (BOOLEAN.has(value)) view[name] = value;
    } else if (name in view && name !== 'page') {
      view[name] = value;
    }
  }
  if (view.state.length) view.state = view.state.map((s) => s.toUpperCase());
  return view;
}

export function toHash(view) {
  const defaults = emptyView();
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(view)) {
    if (name === 'page') continue;
    const isDefault = Array.isArray(value) ? value.length === 0 : value === defaults[name];
    if (isDefault) continue;
    if (name === 'tagsLogic' && !view.tags.length) continue;
    params.set(name, Array.isArray(value) ? value.join(',') : value);
  }
  const query = params.toString().replace(/%2C/g, ',');
  return `#/${view.page}${query ? `?${query}` : ''}`;
}

/** Whether the view narrows the list at all (the segment included). */
export function hasFilters(view) {
  return Boolean(
    view.segment ||
      view.search.trim() ||
      view.tags.length ||
      view.state.length ||
      view.zip.trim() ||
      view.isTextable ||
      view.optedOut ||
      view.hasEmail ||
      view.hasPhone,
  );
}

/** The view with its search, filters and segment cleared. */
export function clearedFilters(view) {
  const empty = emptyView();
  return { ...view, ...Object.fromEntries(FILTER_KEYS.map((k) => [k, empty[k]])), segment: '' };
}

/** The list endpoint's query for a view. A segment replaces the filters. */
export function listQuery(view) {
  if (view.segment) return { segmentId: view.segment, sortBy: view.sortBy };
  return { ...filterQuery(view), sortBy: view.sortBy };
}

/** The filters in query-string form, as the list and export endpoints take them. */
export function filterQuery(view) {
  return {
    search: view.search.trim(),
    tags: view.tags,
    tagsLogic: view.tags.length > 1 ? view.tagsLogic : '',
    state: view.state,
    zip: view.zip.trim(),
    isTextable: view.isTextable,
    optedOut: view.optedOut,
    hasEmail: view.hasEmail,
    hasPhone: view.hasPhone,
  };
}

/** The filters in the JSON form segments and bulk actions take. */
export function filterJson(view) {
  const filter = {};
  if (view.search.trim()) filter.search = view.search.trim();
  if (view.tags.length) {
    filter.tags = view.tags;
    filter.tagsLogic = view.tagsLogic;
  }
  if (view.state.length) filter.state = view.state;
  if (view.zip.trim()) filter.zip = view.zip.trim();
  for (const name of ['isTextable', 'optedOut', 'hasEmail', 'hasPhone']) {
    if (view[name]) filter[name] = view[name] === 'true';
  }
  return filter;
}

/** The view showing a segment's saved filters, for editing them. */
export function viewOfFilter(view, filter) {
  const bool = (v) => (v === true ? 'true' : v === false ? 'false' : '');
  return {
    ...clearedFilters(view),
    search: filter.search || '',
    tags: filter.tags || [],
    tagsLogic: filter.tagsLogic === 'AND' ? 'AND' : 'OR',
    state: filter.state || [],
    zip: filter.zip || '',
    isTextable: bool(filter.isTextable),
    optedOut: bool(filter.optedOut),
    hasEmail: bool(filter.hasEmail),
    hasPhone: bool(filter.hasPhone),
  };
}

/**
 * The current view and a navigate(patch, {replace}) function. A patch is
 * merged into the view; `replace` rewrites the history entry instead of
 * adding one.
 */
export function useView() {
  const [view, setView] = useState(() => parseHash(location.hash));
  const current = useRef(view);
  current.current = view;
  useEffect(() => {
    const restore = () => setView(parseHash(location.hash));
    window.addEventListener('popstate', restore);
    window.addEventListener('hashchange', restore);
    return () => {
      window.removeEventListener('popstate', restore);
      window.removeEventListener('hashchange', restore);
    };
  }, []);
  const navigate = useCallback((patch, { replace = false } = {}) => {
    const before = current.current;
    const next = typeof patch === 'function' ? patch(before) : { ...before, ...patch };
    current.current = next;
    const hash = toHash(next);
    if (hash !== location.hash) {
      if (replace) history.replaceState(null, '', hash);
      else history.pushState(null, '', hash);
    }
    setView(next);
  }, []);
  return [view, navigate];
}
