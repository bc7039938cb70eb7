// The tags page: every tag with its count, most used first. Rename (merging
// into an existing tag says so, with both counts), delete, or open the
// contacts carrying one.

import { api } from '../api.js';
import { Banner, confirm, prompt, toast, useAbortableEffect } from '../components.js';
import { useSession } from '../context.js';
import { formatNumber, plural } from '../format.js';
import { html, useState } from '../html.js';
import { emptyView } from '../state.js';

const SHOWN = 200;

export function TagsPage() {
  const { navigate, canWrite, changed, revision } = useSession();
  const [tags, setTags] = useState(null);
  const [error, setError] = useState(null);
  const [filter, setFilter] = useState('');
  const [all, setAll] = useState(false);
  const [retry, setRetry] = useState(0);
  useAbortableEffect(
    (signal) => {
      setError(null);
      api
        .tags(signal)
        .then((answer) => setTags(answer.tags))
        .catch((err) => err.name !== 'AbortError' && setError(err));
    },
    [revision, retry],
  );

  const byName = (name) => tags.find((t) => t.tag.toLowerCase() === name.toLowerCase());

  const rename = async (tag) => {
    const target = await prompt({
      title: `Rename “${tag.tag}”`,
      message: `${plural(tag.count, 'contact carries', 'contacts carry')} this tag.`,
      label: 'New name',
      value: tag.tag,
      testid: 'tag-new-name',
      confirmLabel: 'Continue',
    });
    if (!target || target === tag.tag) return;
    const existing = byName(target);
    if (existing && existing.tag.toLowerCase() !== tag.tag.toLowerCase()) {
      const ok = await confirm({
        title: `Merge “${tag.tag}” into “${existing.tag}”?`,
        message: `“${existing.tag}” already exists on ${plural(existing.count, 'contact')}. Renaming “${tag.tag}” (${plural(tag.count, 'contact')}) merges the two tags: contacts carrying both keep one. The merged tag will be on at most ${formatNumber(existing.count + tag.count)} contacts.`,
        confirmLabel: 'Merge tags',
      });
      if (!ok) return;
    }
    try {
      const result = await api.renameTag(tag.tag, target);
      toast(`Renamed “${tag.tag}” to “${result.to}” on ${plural(result.updated, 'contact')}.`, 'success');
      changed();
    } catch (err) {
      toast(err.message, 'error');
    }
  };

  const remove = async (tag) => {
    const ok = await confirm({
      title: `Delete the tag “${tag.tag}”?`,
      count: tag.count,
      message: `The tag is removed from every contact carrying it. The contacts themselves stay.`,
      confirmLabel: 'Delete tag',
      danger: true,
    });
    if (!ok) return;
    try {
      const result = await api.deleteTag(tag.tag);
      toast(`Removed “${tag.tag}” from ${plural(result.updated, 'contact')}.`, 'success');
      changed();
    } catch (err) {
      toast(err.message, 'error');
    }
  };

  const text = filter.trim().toLowerCase();
  const matching = (tags || []).filter((t) => !text || t.tag.toLowerCase().includes(text));
  const shown = all ? matching : matching.slice(0, SHOWN);
  return html`<section class="page" aria-labelledby="tags-title">
    <header class="page-head">
      <div class="page-title">
        <h1 id="tags-title">Tags</h1>
        ${tags && html`<span class="total">${plural(tags.length, 'tag')}</span>`}
      </div>
    </header>
    <${Banner} error=${error} onRetry=${() => setRetry((r) => r + 1)} />
    <div class="toolbar">
      <label class="field" for="tag-filter">
        <span class="label">Filter tags</span>
        <input id="tag-filter" type="search" data-testid="tag-filter" value=${filter} onInput=${(e) => setFilter(e.target.value)} />
      </label>
    </div>
    ${tags === null
      ? !error && html`<div class="progress" data-testid="loading"></div>`
      : matching.length === 0
        ? html`<div class="empty">
            <h2>${tags.length ? 'No tag matches' : 'No tags yet'}</h2>
            <p>${tags.length ? `No tag contains “${filter}”.` : 'Tags you give contacts appear here with their counts.'}</p>
          </div>`
        : html`<table class="list-table stack">
            <thead>
              <tr>
                <th>Tag</th>
                <th class="num">Contacts</th>
                <th><span class="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              ${shown.map(
                (t) => html`<tr data-testid="tag-item" data-tag=${t.tag} key=${t.tag}>
                  <td data-label="Tag">
                    <a
                      class="chip"
                      href=${`#/contacts?tags=${encodeURIComponent(t.tag)}`}
                      onClick=${(e) => {
                        e.preventDefault();
                        navigate({ ...emptyView(), page: 'contacts', tags: [t.tag] });
                      }}
                      >${t.tag}</a
                    >
                  </td>
                  <td data-label="Contacts" class="num" data-testid="tag-count">${formatNumber(t.count)}</td>
                  <td class="actions">
                    ${canWrite &&
                    html`<button type="button" data-testid="tag-rename" onClick=${() => rename(t)}>Rename</button>
                      <button type="button" class="danger-text" data-testid="tag-delete" onClick=${() => remove(t)}>Delete</button>`}
                  </td>
                </tr>`,
              )}
            </tbody>
          </table>
          ${!all &&
          matching.length > SHOWN &&
          html`<button type="button" onClick=${() => setAll(true)}>Show all ${formatNumber(matching.length)} tags</button>`}`}
  </section>`;
}
