// A contact's detail panel (a full-screen sheet at narrow widths): every
// field, textability, notes and history; editing, opting out and in,
// starring, archiving and deleting for write keys.

import { api } from '../api.js';
import { Banner, Spinner, confirm, dialogOpen, toast } from '../components.js';
import { useSession } from '../context.js';
import { Time, displayName, formatPhone, plural } from '../format.js';
import { html, useEffect, useRef, useState } from '../html.js';
import { FIELD_LABELS, ContactForm } from './form.js';

const LOOKUP_POLL_MS = 500;
const LOOKUP_POLL_LIMIT = 60;

export function DetailPanel({ id, onClose }) {
  const [outcome, setOutcome] = useState(null);

  // Focus moves into the panel, and back where it was when the panel
  // closes: the element that opened it, or else its row (the list may have
  // re-rendered it meanwhile).
  const current = useRef(id);
  current.current = id;
  useEffect(() => {
    const opener = document.activeElement;
    return () => {
      requestAnimationFrame(() => {
        const row = [...document.querySelectorAll('[data-testid="contact-row"]')].find(
          (r) => r.dataset.id === current.current,
        );
        const back = opener && opener !== document.body && document.contains(opener) ? opener : row;
        back?.focus();
      });
    };
  }, []);

  // One panel per contact: nothing of one contact (its form, a note being
  // typed, a late answer) can reach another's.
  return html`<${Panel}
    key=${id}
    id=${id}
    outcome=${outcome?.id === id ? outcome.outcome : null}
    onCreated=${(c, how) => setOutcome({ id: c.id, outcome: how })}
    onClose=${onClose}
  />`;
}

function Panel({ id, outcome, onCreated, onClose }) {
  const { canWrite, revision, changed, navigate } = useSession();
  const [contact, setContact] = useState(null);
  const [error, setError] = useState(null);
  const [editing, setEditing] = useState(false);
  const [historyRevision, setHistoryRevision] = useState(0);
  const panel = useRef(null);
  const heading = useRef(null);
  const creating = id === 'new';

  useEffect(() => {
    if (creating) return undefined;
    const controller = new AbortController();
    api
      .getContact(id, controller.signal)
      .then((c) => {
        setContact(c);
        requestAnimationFrame(() => {
          if (!panel.current?.contains(document.activeElement)) heading.current?.focus();
        });
      })
      .catch((err) => {
        if (err.name !== 'AbortError') setError(err);
      });
    return () => controller.abort();
  }, []);

  useEffect(() => {
    const onKey = (event) => {
      if (event.key !== 'Escape' || dialogOpen()) return;
      event.preventDefault();
      if (editing && !creating) setEditing(false);
      else onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [editing, creating, onClose]);

  const updated = (next) => {
    setContact(next);
    setHistoryRevision((r) => r + 1);
    changed();
  };

  const act = async (work, success) => {
    try {
      const next = await work();
      if (next) updated(next);
      if (success) toast(success, 'success');
    } catch (err) {
      toast(err.message, 'error');
    }
  };

  const remove = async () => {
    const ok = await confirm({
      title: `Delete ${displayName(contact)}?`,
      message: `${displayName(contact)} will be deleted with their notes and history. This cannot be undone.`,
      confirmLabel: 'Delete contact',
      danger: true,
    });
    if (!ok) return;
    try {
      await api.deleteContact(contact.id);
      toast(`${displayName(contact)} was deleted.`, 'success');
      changed();
      onClose();
    } catch (err) {
      toast(err.message, 'error');
    }
  };

  const optIn = async () => {
    const ok = await confirm({
      title: `Opt ${displayName(contact)} back in?`,
      message: 'Only opt someone back in who has asked to receive messages again.',
      confirmLabel: 'Opt in',
    });
    if (ok) act(() => api.optIn(contact.id), `${displayName(contact)} is opted in.`);
  };

  const title = creating ? 'New contact' : contact ? displayName(contact) : 'Contact';
  return html`
    <aside class="panel" data-testid="detail" data-id=${id} aria-labelledby="panel-title" ref=${panel}>
      <header class="panel-head">
        <h2 id="panel-title" tabindex="-1" ref=${heading}>
          ${contact?.isStarred && html`<span class="star" aria-label="Starred">★ </span>`}${title}
        </h2>
        <button type="button" class="icon-button" aria-label="Close" title="Close (Esc)" onClick=${onClose}>×</button>
      </header>
      <div class="panel-body">
        ${creating
          ? canWrite
            ? html`<${ContactForm}
                mode="create"
                onCancel=${onClose}
                onSaved=${(c, how) => {
                  onCreated(c, how);
                  changed();
                  navigate({ contact: c.id }, { replace: true });
                }}
              />`
            : html`<p class="notice">This API key has read access: it cannot create contacts.</p>`
          : error
            ? html`<${Banner} error=${error} />`
            : !contact
              ? html`<div class="panel-loading" data-testid="loading"><${Spinner} /></div>`
              : editing
                ? html`<${ContactForm}
                    mode="edit"
                    contact=${contact}
                    onCancel=${() => setEditing(false)}
                    onSaved=${(c) => {
                      setEditing(false);
                      panel.current?.querySelector('.panel-body')?.scrollTo(0, 0);
                      if (c !== contact) {
                        updated(c);
                        toast('Saved.', 'success');
                      }
                    }}
                  />`
                : html`
                    ${outcome && html`<${Outcome} outcome=${outcome} />`}
                    ${canWrite &&
                    html`<div class="panel-actions">
                      <button type="button" class="primary" data-testid="edit" onClick=${() => setEditing(true)}>Edit</button>
                      <button
                        type="button"
                        aria-pressed=${contact.isStarred}
                        onClick=${() => act(() => api.updateContact(contact.id, { isStarred: !contact.isStarred }))}
                      >
                        ${contact.isStarred ? '★ Starred' : '☆ Star'}
                      </button>
                      <button
                        type="button"
                        onClick=${() =>
                          act(
                            () => api.updateContact(contact.id, { isArchived: !contact.isArchived }),
                            contact.isArchived ? 'Unarchived.' : 'Archived.',
                          )}
                      >
                        ${contact.isArchived ? 'Unarchive' : 'Archive'}
                      </button>
                      ${contact.isOptedIn
                        ? html`<button type="button" data-testid="opt-out" onClick=${() => act(() => api.optOut(contact.id), `${displayName(contact)} is opted out.`)}>
                            Opt out
                          </button>`
                        : html`<button type="button" data-testid="opt-in" onClick=${optIn}>Opt in</button>`}
                      <button type="button" class="danger-text" data-testid="delete" onClick=${remove}>Delete</button>
                    </div>`}
                    <${Fields} contact=${contact} />
                    <${Messaging} contact=${contact} canWrite=${canWrite} onChange=${updated} />
                    <${Notes} contactId=${contact.id} canWrite=${canWrite} onChange=${() => setHistoryRevision((r) => r + 1)} />
                    <${Timeline} contactId=${contact.id} revision=${`${revision}-${historyRevision}`} />
                  `}
      </div>
    </aside>
  `;
}

function Outcome({ outcome }) {
  return html`<div class=${`outcome outcome-${outcome}`} role="status">
    <span class="badge" data-testid="outcome">${outcome}</span>
    <span>${outcome === 'merged' ? 'A contact with this phone or email already existed; the new details were merged into it.' : 'A new contact was added.'}</span>
  </div>`;
}

function Row({ label, children }) {
  return html`<div class="dl-row"><dt>${label}</dt><dd>${children}</dd></div>`;
}

const EMPTY = html`<span class="muted">—</span>`;

function Fields({ contact }) {
  const place = [contact.city, [contact.state, contact.zip].filter(Boolean).join(' ')].filter(Boolean).join(', ');
  const custom = Object.entries(contact.customFields || {});
  return html`
    <section class="panel-section" aria-label="Details">
      <dl class="dl">
        <${Row} label="Phone">${contact.phone ? html`<span title=${contact.phone}>${formatPhone(contact.phone)}</span>` : EMPTY}<//>
        <${Row} label="Email">${contact.email || EMPTY}<//>
        <${Row} label="Address">
          ${contact.address || place ? html`${contact.address}${contact.address && place ? html`<br />` : ''}${place}` : EMPTY}
        <//>
        <${Row} label="Time zone">${contact.timezone || EMPTY}<//>
        <${Row} label="Tags">
          ${contact.tags.length ? contact.tags.map((t) => html`<span class="chip">${t}</span>`) : EMPTY}
        <//>
        <${Row} label="Status">
          ${contact.isArchived ? html`<span class="badge">archived</span>` : 'Active'}
        <//>
        <${Row} label="Created"><${Time} iso=${contact.createdAt} /><//>
        <${Row} label="Updated"><${Time} iso=${contact.updatedAt} /><//>
      </dl>
    </section>
    <section class="panel-section">
      <h3>Custom fields <span class="muted">${custom.length} of 20</span></h3>
      ${custom.length
        ? html`<dl class="dl">
            ${custom.map(([key, value]) => html`<${Row} label=${key}>${value === null ? EMPTY : typeof value === 'boolean' ? (value ? 'Yes' : 'No') : String(value)}<//>`)}
          </dl>`
        : html`<p class="muted">None.</p>`}
    </section>
  `;
}

function lookupText(c) {
  if (!c.phone) return 'No phone to look up.';
  if (c.lookupStatus === 'pending') return 'Looking up whether this phone can receive texts…';
  if (c.lookupStatus === 'failed') return 'The textability lookup failed.';
  if (c.isTextable === true) return 'Textable';
  if (c.isTextable === false) return 'Not textable';
  return 'Not looked up.';
}

function Messaging({ contact, canWrite, onChange }) {
  const [polling, setPolling] = useState(false);
  // The answer did not come while the panel watched (a provider retrying
  // with back-off): say so and let the user ask again.
  const [gaveUp, setGaveUp] = useState(false);
  useEffect(() => {
    if (contact.lookupStatus !== 'pending') return undefined;
    let tries = 0;
    let stopped = false;
    setPolling(true);
    setGaveUp(false);
    const tick = async () => {
      if (stopped) return;
      tries += 1;
      try {
        const next = await api.getContact(contact.id);
        if (next.lookupStatus !== 'pending' || tries >= LOOKUP_POLL_LIMIT) {
          setPolling(false);
          if (stopped) return;
          if (next.lookupStatus !== 'pending') onChange(next);
          else setGaveUp(true);
          return;
        }
      } catch {
        setPolling(false);
        setGaveUp(true);
        return;
      }
      setTimeout(tick, LOOKUP_POLL_MS);
    };
    const timer = setTimeout(tick, LOOKUP_POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [contact.id, contact.lookupStatus]);

  const rerun = async () => {
    try {
      onChange(await api.rerunLookup(contact.id));
    } catch (err) {
      toast(err.message, 'error');
    }
  };

  return html`<section class="panel-section">
    <h3>Messaging</h3>
    <dl class="dl">
      <${Row} label="Opted in">
        ${contact.isOptedIn
          ? 'Yes'
          : html`<span class="badge badge-danger">Opted out</span> <${Time} iso=${contact.optedOutAt} />`}
      <//>
      <${Row} label="Textable">
        <span data-testid="lookup-status" data-status=${contact.lookupStatus || 'none'}>
          ${lookupText(contact)}
          ${contact.lineType && html` <span class="muted">(${contact.lineType})</span>`}
          ${contact.lookedUpAt && html` <span class="muted">checked <${Time} iso=${contact.lookedUpAt} /></span>`}
          ${polling && html` <${Spinner} label="Looking up" />`}
          ${gaveUp && html` <span class="muted">(no answer yet; the lookup is still queued)</span>`}
        </span>${' '}
        ${canWrite &&
        contact.phone &&
        html`<button
          type="button"
          class="link"
          data-testid="rerun-lookup"
          disabled=${contact.lookupStatus === 'pending' && !gaveUp}
          onClick=${rerun}
        >
          Look up again
        </button>`}
      <//>
    </dl>
  </section>`;
}

function Notes({ contactId, canWrite, onChange }) {
  const [notes, setNotes] = useState(null);
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const [editing, setEditing] = useState(null);
  const load = () =>
    api
      .notes(contactId)
      .then((answer) => setNotes(answer.notes))
      .catch((err) => setError(err.message));
  useEffect(() => {
    load();
  }, [contactId]);

  const add = async (event) => {
    event.preventDefault();
    if (!text.trim()) return;
    try {
      await api.addNote(contactId, text);
      setText('');
      setError('');
      await load();
      onChange();
    } catch (err) {
      setError(err.message);
    }
  };
  const save = async (note, body) => {
    try {
      await api.editNote(contactId, note.id, body);
      setEditing(null);
      await load();
    } catch (err) {
      toast(err.message, 'error');
    }
  };
  const remove = async (note) => {
    const ok = await confirm({ title: 'Delete this note?', message: 'The note is removed for good.', confirmLabel: 'Delete note', danger: true });
    if (!ok) return;
    try {
      await api.deleteNote(contactId, note.id);
      await load();
    } catch (err) {
      toast(err.message, 'error');
    }
  };

  return html`<section class="panel-section">
    <h3>Notes ${notes && html`<span class="muted">${notes.length}</span>`}</h3>
    ${canWrite &&
    html`<form class="note-form" onSubmit=${add}>
      <label class="sr-only" for="note-input">New note</label>
      <textarea
        id="note-input"
        data-testid="note-input"
        rows="2"
        placeholder="Add a note"
        value=${text}
        onInput=${(e) => setText(e.target.value)}
        onKeyDown=${(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) add(e);
        }}
      ></textarea>
      <button type="submit" data-testid="add-note" disabled=${!text.trim()}>Add note</button>
    </form>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${notes === null
      ? html`<${Spinner} />`
      : notes.length === 0
        ? html`<p class="muted">No notes yet.</p>`
        : html`<ul class="notes">
            ${notes.map((note) =>
              editing === note.id
                ? html`<${NoteEditor} key=${note.id} note=${note} onSave=${(body) => save(note, body)} onCancel=${() => setEditing(null)} />`
                : html`<li class="note" data-testid="note" key=${note.id}>
                    <p class="note-body">${note.body}</p>
                    <div class="note-meta">
                      <${Time} iso=${note.createdAt} />${note.updatedAt !== note.createdAt && html` · edited`}
                      ${canWrite &&
                      html`<button type="button" class="link" onClick=${() => setEditing(note.id)}>Edit</button>
                        <button type="button" class="link danger-text" onClick=${() => remove(note)}>Delete</button>`}
                    </div>
                  </li>`,
            )}
          </ul>`}
  </section>`;
}

function NoteEditor({ note, onSave, onCancel }) {
  const [body, setBody] = useState(note.body);
  return html`<li class="note editing" data-testid="note">
    <label class="sr-only" for=${`note-${note.id}`}>Note</label>
    <textarea id=${`note-${note.id}`} rows="3" value=${body} onInput=${(e) => setBody(e.target.value)}></textarea>
    <div class="note-meta">
      <button type="button" class="primary" disabled=${!body.trim()} onClick=${() => onSave(body)}>Save note</button>
      <button type="button" onClick=${onCancel}>Cancel</button>
    </div>
  </li>`;
}

const SOURCES = {
  api: 'through the API',
  import: 'by an import',
  keyword: 'by a text message keyword',
  bulk: 'by a bulk action',
  ui: 'in the admin UI',
};

const fieldList = (fields) => (fields || []).map((f) => FIELD_LABELS[f] || f).join(', ');

export function describeEvent({ type, data = {} }) {
  switch (type) {
    case 'created':
      return `Created ${SOURCES[data.source] || ''}${data.tags?.length ? ` with tags ${data.tags.join(', ')}` : ''}`;
    case 'updated':
      return `Updated ${fieldList(data.fields)}`;
    case 'merged':
      return `Merged a duplicate into this contact${data.fields?.length ? `: ${fieldList(data.fields)}` : ''}`;
    case 'tags_changed':
      return [
        data.added?.length && `Tagged ${data.added.join(', ')}`,
        data.removed?.length && `Untagged ${data.removed.join(', ')}`,
      ]
        .filter(Boolean)
        .join('; ');
    case 'opted_out':
      return `Opted out ${SOURCES[data.source] || ''}`;
    case 'opted_in':
      return `Opted in ${SOURCES[data.source] || ''}`;
    case 'note_added':
      return 'Note added';
    case 'inbound_message':
      return `Text from ${formatPhone(data.from)}: “${data.body}”`;
    case 'lookup_requested':
      return 'Textability lookup requested';
    case 'lookup_completed':
      return `Lookup: ${data.isTextable ? 'textable' : 'not textable'}${data.lineType ? ` (${data.lineType})` : ''}`;
    case 'lookup_failed':
      return `Lookup failed: ${data.error || 'no answer'}`;
    default:
      return type.replace(/_/g, ' ');
  }
}

function Timeline({ contactId, revision }) {
  const [events, setEvents] = useState(null);
  const [cursor, setCursor] = useState(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState(null);
  const [retry, setRetry] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    api
      .timeline(contactId, null, controller.signal)
      .then((page) => {
        setError(null);
        setEvents(page.events);
        setCursor(page.hasMore ? page.cursor : null);
      })
      .catch((err) => {
        if (err.name !== 'AbortError') setError(err);
      });
    return () => controller.abort();
  }, [contactId, revision, retry]);
  const more = async () => {
    setLoadingMore(true);
    try {
      const page = await api.timeline(contactId, cursor);
      setEvents((e) => [...e, ...page.events]);
      setCursor(page.hasMore ? page.cursor : null);
    } catch (err) {
      toast(err.message, 'error');
    } finally {
      setLoadingMore(false);
    }
  };
  return html`<section class="panel-section">
    <h3>History</h3>
    ${error
      ? html`<${Banner} error=${error} onRetry=${() => setRetry((r) => r + 1)} />`
      : events === null
        ? html`<${Spinner} />`
      : html`<ol class="timeline">
          ${events.map(
            (event) => html`<li class="timeline-event" data-testid="timeline-event" data-type=${event.type} key=${event.id}>
              <span class="timeline-text">${describeEvent(event)}</span>
              <${Time} iso=${event.createdAt} />
            </li>`,
          )}
        </ol>`}
    ${cursor &&
    html`<button type="button" class="link" data-testid="timeline-more" disabled=${loadingMore} onClick=${more}>
      ${loadingMore ? 'Loading…' : 'Show older events'}
    </button>`}
    ${events && events.length === 0 && html`<p class="muted">${plural(0, 'event')}.</p>`}
  </section>`;
}
