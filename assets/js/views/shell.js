// The signed-in layout: the sidebar (a menu at narrow widths), the current
// page, and the overlays. Owns the session context and the `/` shortcut.

import { api } from '../api.js';
import { Overlays } from '../components.js';
import { Session } from '../context.js';
import { formatNumber } from '../format.js';
import { html, useCallback, useEffect, useMemo, useState } from '../html.js';
import { emptyView, useView } from '../state.js';
import { ContactsPage } from './contacts.js';
import { ImportsPage } from './imports.js';
import { SegmentsPage } from './segments.js';
import { TagsPage } from './tags.js';

const PAGES = {
  contacts: ContactsPage,
  segments: SegmentsPage,
  tags: TagsPage,
  imports: ImportsPage,
};

function isTyping(target) {
  return Boolean(target.closest?.('input, textarea, select, [contenteditable="true"]'));
}

export function Shell({ me, onSignOut }) {
  const [view, navigate] = useView();
  const [revision, setRevision] = useState(0);
  const [segments, setSegments] = useState(null);
  const [menuOpen, setMenuOpen] = useState(false);
  const canWrite = me.access === 'write';

  const [segmentsError, setSegmentsError] = useState(null);
  const reloadSegments = useCallback(() => {
    api
      .segments()
      .then((answer) => {
        setSegments(answer.segments);
        setSegmentsError(null);
      })
      .catch(setSegmentsError);
  }, []);
  // Segment counts are live: refresh them whenever something was written.
  useEffect(reloadSegments, [revision]);

  const changed = useCallback(() => setRevision((r) => r + 1), []);

  useEffect(() => {
    const onKey = (event) => {
      if (event.key === '/' && !event.ctrlKey && !event.metaKey && !isTyping(event.target)) {
        const search = document.querySelector('[data-testid="search"]');
        if (search) {
          event.preventDefault();
          search.focus();
          search.select();
        }
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => setMenuOpen(false), [view.page, view.segment]);

  const session = useMemo(
    () => ({ me, canWrite, view, navigate, revision, changed, segments, segmentsError, reloadSegments }),
    [me, view, revision, segments, segmentsError],
  );
  const Page = PAGES[view.page] || ContactsPage;
  const go = (page, extra = {}) => (event) => {
    event.preventDefault();
    // Leaving a page for another starts from a clean view.
    navigate({ ...emptyView(), sortBy: view.sortBy, page, ...extra });
  };

  return html`
    <${Session.Provider} value=${session}>
      <div class=${menuOpen ? 'app menu-open' : 'app'}>
        <header class="topbar">
          <button
            type="button"
            class="icon-button"
            aria-label="Menu"
            aria-expanded=${menuOpen}
            aria-controls="sidebar"
            onClick=${() => setMenuOpen(!menuOpen)}
          >
            <span class="burger" aria-hidden="true"></span>
          </button>
          <span class="brand"><span class="logo" aria-hidden="true">R</span> Roster</span>
        </header>
        <nav class="sidebar" id="sidebar" aria-label="Main">
          <div class="brand sidebar-brand"><span class="logo" aria-hidden="true">R</span> Roster</div>
          <ul class="nav">
            <li>
              <a
                href="#/contacts"
                data-testid="nav-contacts"
                aria-current=${view.page === 'contacts' && !view.segment ? 'page' : null}
                onClick=${go('contacts')}
                >Contacts</a
              >
            </li>
            <li>
              <a
                href="#/segments"
                data-testid="nav-segments"
                aria-current=${view.page === 'segments' ? 'page' : null}
                onClick=${go('segments')}
                >Segments</a
              >
              ${segments &&
              segments.length > 0 &&
              html`<ul class="subnav">
                ${segments.map(
                  (s) => html`<li>
                    <a
                      href=${`#/contacts?segment=${s.id}`}
                      data-testid="segment-item"
                      data-id=${s.id}
                      aria-current=${view.page === 'contacts' && view.segment === s.id ? 'page' : null}
                      onClick=${go('contacts', { segment: s.id })}
                    >
                      <span class="subnav-name">${s.name}</span>
                      <span class="count">${formatNumber(s.contactCount)}</span>
                    </a>
                  </li>`,
                )}
              </ul>`}
            </li>
            <li>
              <a
                href="#/tags"
                data-testid="nav-tags"
                aria-current=${view.page === 'tags' ? 'page' : null}
                onClick=${go('tags')}
                >Tags</a
              >
            </li>
            <li>
              <a
                href="#/imports"
                data-testid="nav-imports"
                aria-current=${view.page === 'imports' ? 'page' : null}
                onClick=${go('imports')}
                >Imports</a
              >
            </li>
          </ul>
          <div class="sidebar-foot">
            <div class="whoami" data-testid="whoami">
              <span class="org-name">${me.organization.name}</span>
              <span class=${`badge ${canWrite ? 'badge-write' : 'badge-read'}`}>
                ${canWrite ? 'write access' : 'read-only'}
              </span>
            </div>
            <button type="button" class="link" data-testid="sign-out" onClick=${onSignOut}>Sign out</button>
            <a class="api-doc" href="/api/openapi.json" target="_blank" rel="noopener" data-testid="nav-api-doc"
              >API description (OpenAPI)</a
            >
          </div>
        </nav>
        <div class="scrim" onClick=${() => setMenuOpen(false)}></div>
        <main class="main" id="main">
          <${Page} />
        </main>
        <${Overlays} />
      </div>
    </${Session.Provider}>
  `;
}
