// The one HTTP client of the admin UI. It speaks the public API with the
// signed-in key, which lives in sessionStorage only: never in a URL, never in
// localStorage, gone when the tab closes.

const KEY_NAME = 'roster.apiKey';

export function currentKey() {
  return sessionStorage.getItem(KEY_NAME);
}

export function keepKey(key) {
  sessionStorage.setItem(KEY_NAME, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_NAME);
}

/** An answer other than 2xx, or no answer at all (`status` 0). */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `The server answered ${status}.`);
    this.status = status;
    this.code = (body && body.code) || (status === 0 ? 'network' : 'error');
    this.field = (body && body.field) || null;
  }

  /** A failure worth a retry button: the network or the server, not the input. */
  get transient() {
    return this.status === 0 || this.status >= 500;
  }
}

let unauthorized = () => {};

/** Called with the error when a request made with the kept key answers 401. */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

/** `query` values that are empty (arrays too), null or undefined are left out. */
export function queryString(query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value) && value.length === 0) continue;
    params.set(name, Array.isArray(value) ? value.join(',') : String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * One request. `body` is sent as JSON unless it is FormData; `raw` returns
 * the Response itself. An aborted request rejects with the AbortError.
 */
export async function request(method, path, options = {}) {
  const { body, query, signal, key, raw } = options;
  const headers = { Authorization: `Bearer ${key ?? currentKey() ?? ''}` };
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api${path}${queryString(query)}`, {
      method,
      headers,
      body: payload,
      signal,
      cache: 'no-store',
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, {
      error: 'Could not reach the Roster server. Check that it is running, then retry.',
    });
  }
  if (raw && response.ok) return response;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && key === undefined) unauthorized(error);
    throw error;
  }
  return data;
}

const get = (path, options) => request('GET', path, options);
const post = (path, body, options) => request('POST', path, { ...options, body });
const put = (path, body, options) => request('PUT', path, { ...options, body });
const del = (path, options) => request('DELETE', path, options);
const id = (value) => encodeURIComponent(value);

export const api = {
  me: (key) => get('/me', { key }),

  listContacts: (query, signal) => get('/contacts', { query, signal }),
  getContact: (contactId, signal) => get(`/contacts/${id(contactId)}`, { signal }),
  createContact: (body) => post('/contacts', body),
  updateContact: (contactId, body) => put(`/contacts/${id(contactId)}`, body),
  deleteContact: (contactId) => del(`/contacts/${id(contactId)}`),
  optOut: (contactId) => post(`/contacts/${id(contactId)}/opt-out`),
  optIn: (contactId) => post(`/contacts/${id(contactId)}/opt-in`),
  rerunLookup: (contactId) => post(`/contacts/${id(contactId)}/lookup`),

  notes: (contactId, signal) => get(`/contacts/${id(contactId)}/notes`, { signal }),
  addNote: (contactId, body) => post(`/contacts/${id(contactId)}/notes`, { body }),
  editNote: (contactId, noteId, body) =>
    put(`/contacts/${id(contactId)}/notes/${id(noteId)}`, { body }),
  deleteNote: (contactId, noteId) => del(`/contacts/${id(contactId)}/notes/${id(noteId)}`),
  timeline: (contactId, cursor, signal) =>
    get(`/contacts/${id(contactId)}/timeline`, { query: { limit: 20, cursor }, signal }),

  bulk: (body) => post('/contacts/bulk', body),

  tags: (signal) => get('/tags', { signal }),
  renameTag: (from, to) => post('/tags/rename', { from, to }),
  deleteTag: (tag) => del(`/tags/${id(tag)}`),

  segments: (signal) => get('/segments', { signal }),
  createSegment: (body) => post('/segments', body),
  updateSegment: (segmentId, body) => put(`/segments/${id(segmentId)}`, body),
  deleteSegment: (segmentId) => del(`/segments/${id(segmentId)}`),

  previewImport: (form) => post('/imports/preview', form),
  startImport: (form) => post('/contacts/import', form),
  getImport: (importId, signal) => get(`/imports/${id(importId)}`, { signal }),
  imports: (signal) => get('/imports', { signal }),
  cancelImport: (importId) => del(`/imports/${id(importId)}`),

  exportLink: (query) => request('POST', '/contacts/export/link', { query }),
};
