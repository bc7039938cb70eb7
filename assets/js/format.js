// How values read on screen: numbers with separators, US phones in national
// form, times in words with the exact time kept for hover.

import { html } from './html.js';

const numbers = new Intl.NumberFormat('en-US');

export function formatNumber(n) {
  return numbers.format(n ?? 0);
}

/** `(919) 555-1234` for a US (+1) number, E.164 for every other. */
export function formatPhone(e164) {
  if (!e164) return '';
  const us = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  return us ? `(${us[1]}) ${us[2]}-${us[3]}` : e164;
}

export function exactTime(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString('en-US', {
    dateStyle: 'medium',
    timeStyle: 'medium',
  });
}

/** "just now", "3 min ago", "5 h ago", "yesterday", "4 days ago", or a date. */
export function relativeTime(iso, now = Date.now()) {
  if (!iso) return '';
  const then = new Date(iso).getTime();
  const seconds = Math.round((now - then) / 1000);
  if (seconds < 45) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  if (days === 1) return 'yesterday';
  if (days < 30) return `${days} days ago`;
  return new Date(iso).toLocaleDateString('en-US', { dateStyle: 'medium' });
}

/** A time in words, the exact time on hover. */
export function Time({ iso }) {
  if (!iso) return null;
  return html`<time datetime=${iso} title=${exactTime(iso)}>${relativeTime(iso)}</time>`;
}

export function displayName(contact) {
  const name = [contact.firstName, contact.lastName].filter(Boolean).join(' ');
  return name || contact.email || formatPhone(contact.phone) || 'Unnamed contact';
}

/** "yes", "no" or "pending" (asked, no answer yet) or "" (nothing to ask). */
export function textability(contact) {
  if (contact.isTextable === true) return 'yes';
  if (contact.isTextable === false) return 'no';
  return contact.phone ? 'pending' : '';
}

export function plural(n, one, many = `${one}s`) {
  return `${formatNumber(n)} ${n === 1 ? one : many}`;
}

// Search terms are matched by the server fuzzily; highlighting marks the
// words a term plausibly matched: a prefix, or within one edit of one.
function withinOneEdit(a, b) {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i += 1;
  if (i === a.length || i === b.length) return true;
  const swapped = a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  return (
    swapped ||
    a.slice(i + 1) === b.slice(i + 1) ||
    a.slice(i + 1) === b.slice(i) ||
    a.slice(i) === b.slice(i + 1)
  );
}

function termMatches(word, term) {
  if (word.startsWith(term)) return term.length;
  if (term.length < 3) return 0;
  if (withinOneEdit(word, term)) return word.length;
  // A typo inside a prefix: compare the term with the word's start.
  for (const len of [term.length - 1, term.length, term.length + 1]) {
    if (len > 0 && len <= word.length && withinOneEdit(word.slice(0, len), term)) return len;
  }
  return 0;
}

export function searchTerms(search) {
  return (search || '')
    .toLowerCase()
    .split(/[\s,]+/)
    .map((t) => t.trim())
    .filter(Boolean);
}

/** `text` with the parts that match `terms` in <mark>. */
export function highlight(text, terms) {
  if (!text || !terms.length) return text || '';
  const parts = [];
  const wordPattern = /[\p{L}\p{N}]+/gu;
  let last = 0;
  for (const match of text.matchAll(wordPattern)) {
    const word = match[0].toLowerCase();
    const length = Math.max(0, ...terms.map((t) => termMatches(word, t)));
    if (!length) continue;
    const start = match.index;
    if (start > last) parts.push(text.slice(last, start));
    parts.push(html`<mark>${text.slice(start, start + length)}</mark>`);
    last = start + length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}
