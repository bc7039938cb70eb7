// CSV import: pick or drop a file, see what the server would do with it
// (delimiter, encoding, header, mapping, first rows), adjust each column's
// target, then follow the import to its summary. Numbers shown are exactly
// the server's; a run with failures never reads as a success.

import { api } from '../api.js';
import { Banner, ChipInput, Select, confirm, toast, useAbortableEffect } from '../components.js';
import { useSession } from '../context.js';
import { Time, formatNumber, plural } from '../format.js';
import { html, useEffect, useRef, useState } from '../html.js';
import { emptyView } from '../state.js';
import { useTagSuggestions } from '../suggestions.js';

/** The preview reads the file's start only; the whole file goes with the import. */
const PREVIEW_BYTES = 256 * 1024;
const POLL_MS = 500;

const FIELD_TARGETS = [
  ['firstName', 'First name'],
  ['lastName', 'Last name'],
  ['phone', 'Phone'],
  ['email', 'Email'],
  ['address', 'Address'],
  ['city', 'City'],
  ['state', 'State'],
  ['zip', 'ZIP'],
  ['tags', 'Tags'],
  ['timezone', 'Time zone'],
  ['isStarred', 'Starred'],
  ['isArchived', 'Archived'],
  ['isOptedIn', 'Opted in (false opts out)'],
  ['optedOut', 'Opted out (true opts out)'],
];
const CUSTOM = 'customFields.';
const FINISHED = new Set(['completed', 'failed', 'cancelled']);

export function ImportsPage() {
  const { view, navigate, canWrite } = useSession();
  return html`<section class="page" aria-labelledby="imports-title">
    <header class="page-head">
      <div class="page-title"><h1 id="imports-title">Imports</h1></div>
      ${view.import &&
      html`<button type="button" onClick=${() => navigate({ import: '' })}>${canWrite ? 'New import' : 'All imports'}</button>`}
    </header>
    ${view.import ? html`<${ImportRun} id=${view.import} />` : canWrite && html`<${NewImport} />`}
    <${RecentImports} />
  </section>`;
}

/** The part of the file the preview needs: whole lines from its start. */
async function head(file) {
  if (file.size <= PREVIEW_BYTES) return file;
  const bytes = new Uint8Array(await file.slice(0, PREVIEW_BYTES).arrayBuffer());
  const end = bytes.lastIndexOf(10);
  return new Blob([bytes.slice(0, end > 0 ? end + 1 : bytes.length)], { type: 'text/csv' });
}

function targetKind(target) {
  if (target === null) return 'skip';
  if (target.startsWith(CUSTOM)) return 'custom';
  return target;
}

function NewImport() {
  const { navigate, revision } = useSession();
  const suggestTags = useTagSuggestions(revision);
  const [file, setFile] = useState(null);
  const [preview, setPreview] = useState(null);
  const [targets, setTargets] = useState([]);
  const [tags, setTags] = useState([]);
  const [mode, setMode] = useState('merge');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [over, setOver] = useState(false);
  const input = useRef(null);

  // Only the preview of the file chosen last is shown.
  const chosenLast = useRef(null);
  const choose = async (chosen) => {
    if (!chosen) return;
    chosenLast.current = chosen;
    setFile(chosen);
    setPreview(null);
    setError(null);
    setBusy(true);
    try {
      const form = new FormData();
      form.append('file', await head(chosen), chosen.name);
      const answer = await api.previewImport(form);
      if (chosenLast.current !== chosen) return;
      setPreview(answer);
      setTargets(answer.mapping);
    } catch (err) {
      if (chosenLast.current === chosen) setError(err);
    } finally {
      if (chosenLast.current === chosen) setBusy(false);
    }
  };

  const start = async () => {
    // The mapping names columns by header; a repeated header can only be
    // mapped by its first column (the others keep the importer's rules).
    const mapping = {};
    preview.headers.forEach((header, i) => {
      if (!(header in mapping)) mapping[header] = targets[i];
    });
    const form = new FormData();
    form.append('file', file, file.name);
    form.append('options', JSON.stringify({ mapping, tags, mode, delimiter: preview.delimiter }));
    setBusy(true);
    setError(null);
    try {
      const answer = await api.startImport(form);
      navigate({ import: answer.importId });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const setTarget = (i, target) => setTargets(targets.map((t, j) => (j === i ? target : t)));
  const used = targets.filter((t) => t && !t.startsWith(CUSTOM));
  const duplicate = used.find((t, i) => used.indexOf(t) !== i);
  const customCount = targets.filter((t) => t && t.startsWith(CUSTOM)).length;

  return html`<div class="card import-new">
    <div
      class=${over ? 'dropzone over' : 'dropzone'}
      onDragOver=${(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave=${() => setOver(false)}
      onDrop=${(e) => {
        e.preventDefault();
        setOver(false);
        choose(e.dataTransfer.files[0]);
      }}
    >
      <h2>${file ? file.name : 'Import contacts from a CSV file'}</h2>
      <p class="muted">
        ${file ? `${formatNumber(file.size)} bytes` : 'Drop a file here, or choose one. Nothing is written until you start the import.'}
      </p>
      <label class="button" for="import-file">${file ? 'Choose another file' : 'Choose a file'}</label>
      <input
        id="import-file"
        ref=${input}
        class="sr-only"
        type="file"
        accept=".csv,.tsv,.txt,text/csv,text/plain"
        data-testid="import-file"
        onChange=${(e) => choose(e.target.files[0])}
      />
    </div>
    <${Banner} error=${error} />
    ${busy && !preview && html`<div class="progress" data-testid="loading"></div>`}
    ${preview &&
    html`<div class="import-preview">
      <p>
        Read as <strong>${preview.encoding}</strong>${preview.bom ? ' (with a byte-order mark)' : ''}, columns separated by${' '}
        <strong>${preview.delimiter === 'tab' ? 'tabs' : `“${preview.delimiter}”`}</strong>.${' '}
        ${plural(preview.headers.length, 'column')}; the first ${plural(preview.rows.length, 'row')} below.
      </p>
      <div class="scroll-x">
        <table class="list-table mapping-table">
          <thead>
            <tr>
              <th>Column</th>
              <th>Goes to</th>
              <th>First rows</th>
            </tr>
          </thead>
          <tbody>
            ${preview.headers.map(
              (header, i) => html`<${MappingRow}
                key=${i}
                header=${header}
                repeated=${preview.headers.indexOf(header) !== i}
                target=${targets[i]}
                samples=${preview.rows.map((r) => r[i] ?? '')}
                onChange=${(t) => setTarget(i, t)}
              />`,
            )}
          </tbody>
        </table>
      </div>
      ${duplicate && html`<p class="error" role="alert">Two columns go to ${duplicate}; choose one of them.</p>`}
      ${customCount > 20 && html`<p class="error" role="alert">A contact has at most 20 custom fields; ${customCount} columns are custom fields. Skip some.</p>`}
      <div class="grid-2">
        <${ChipInput}
          label="Tags added to every row"
          testid="import-tags"
          inputTestid="import-tags-input"
          values=${tags}
          placeholder="Add a tag"
          suggest=${suggestTags}
          onChange=${setTags}
        />
        <${Select}
          label="Rows matching an existing contact"
          testid="import-mode"
          value=${mode}
          options=${[
            ['merge', 'Merge into the contact'],
            ['skipExisting', 'Skip them (leave the contact as it is)'],
          ]}
          onChange=${setMode}
        />
      </div>
      <p class="muted">Opt-outs are never undone by an import: a contact who opted out stays opted out.</p>
      <div class="form-actions">
        <button type="button" class="primary" data-testid="import-start" disabled=${busy || Boolean(duplicate) || customCount > 20} onClick=${start}>
          ${busy ? 'Uploading…' : 'Start import'}
        </button>
      </div>
    </div>`}
  </div>`;
}

function MappingRow({ header, repeated, target, samples, onChange }) {
  const kind = targetKind(target);
  const [custom, setCustom] = useState(kind === 'custom' ? target.slice(CUSTOM.length) : header);
  const options = [['skip', 'Skip this column'], ...FIELD_TARGETS, ['custom', 'Custom field…']];
  return html`<tr data-testid="import-mapping-row" data-column=${header}>
    <th scope="row">${header || html`<span class="muted">(no header)</span>`}</th>
    <td>
      <div class="mapping-target">
        <select
          aria-label=${`Where “${header}” goes`}
          data-testid="import-target"
          disabled=${repeated}
          value=${kind}
          onChange=${(e) => {
            const k = e.target.value;
            onChange(k === 'skip' ? null : k === 'custom' ? `${CUSTOM}${custom.trim() || header}` : k);
          }}
        >
          ${options.map(([v, label]) => html`<option value=${v} selected=${v === kind}>${label}</option>`)}
        </select>
        ${repeated && html`<span class="hint">Repeated header: only its first column can be mapped; this one follows the importer's own rules.</span>`}
        ${kind === 'custom' &&
        !repeated &&
        html`<input
          aria-label="Custom field name"
          data-testid="import-custom-name"
          value=${custom}
          onInput=${(e) => {
            setCustom(e.target.value);
            onChange(`${CUSTOM}${e.target.value.trim() || header}`);
          }}
        />`}
      </div>
    </td>
    <td class="sample" title=${samples.join(' · ')}>${samples.filter(Boolean).slice(0, 3).join(' · ')}</td>
  </tr>`;
}

/** One import: progress while it runs, then its summary. Survives reloads. */
function ImportRun({ id }) {
  const { changed, canWrite } = useSession();
  const [imp, setImp] = useState(null);
  const [error, setError] = useState(null);
  const [rate, setRate] = useState(null);
  const last = useRef(null);

  useEffect(() => {
    let stopped = false;
    let timer = null;
    last.current = null;
    setImp(null);
    const poll = async () => {
      try {
        const next = await api.getImport(id);
        if (stopped) return;
        const now = performance.now();
        if (last.current && next.processed > last.current.processed) {
          const perSecond = ((next.processed - last.current.processed) * 1000) / (now - last.current.at);
          setRate((r) => (r === null ? perSecond : r * 0.6 + perSecond * 0.4));
        }
        last.current = { processed: next.processed, at: now };
        setImp(next);
        if (FINISHED.has(next.status)) {
          changed();
          return;
        }
      } catch (err) {
        if (stopped) return;
        setError(err);
        if (err.status === 404) return;
      }
      timer = setTimeout(poll, POLL_MS);
    };
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [id]);

  const cancel = async () => {
    const ok = await confirm({
      title: 'Cancel this import?',
      message: 'The batch being written finishes; no further rows are imported. Rows already imported stay.',
      confirmLabel: 'Cancel import',
      danger: true,
    });
    if (!ok) return;
    try {
      setImp(await api.cancelImport(id));
    } catch (err) {
      toast(err.message, 'error');
    }
  };

  if (!imp) return html`${error ? html`<${Banner} error=${error} />` : html`<div class="progress" data-testid="loading"></div>`}`;
  const finished = FINISHED.has(imp.status);
  return html`<div class="card import-run">
    ${finished ? html`<${Summary} imp=${imp} />` : html`<${Progress} imp=${imp} rate=${rate} onCancel=${canWrite ? cancel : null} />`}
  </div>`;
}

function Progress({ imp, rate, onCancel }) {
  const total = imp.totalRows;
  const share = total ? Math.min(100, (imp.processed / total) * 100) : 0;
  return html`<div data-testid="import-progress" data-status=${imp.status} class="import-progress">
    <h2>${imp.status === 'queued' ? 'Waiting to start…' : 'Importing…'}</h2>
    <progress class="bar" max=${total || 1} value=${total ? imp.processed : 0} aria-label="Rows processed">${Math.round(share)}%</progress>
    <p>
      <strong data-testid="import-processed">${formatNumber(imp.processed)}</strong>${' of '}
      <strong data-testid="import-total">${total === null || total === undefined ? 'counting…' : formatNumber(total)}</strong> rows
      ${rate !== null && html` · ${formatNumber(Math.round(rate))} rows/s`}
      ${imp.failed > 0 && html` · <span class="danger-text">${plural(imp.failed, 'row')} failed so far</span>`}
    </p>
    ${onCancel && html`<button type="button" data-testid="import-cancel" onClick=${onCancel}>Cancel import</button>`}
  </div>`;
}

function csvCell(value) {
  const text = String(value ?? '');
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function downloadErrors(imp) {
  const lines = [['row', 'column', 'error'], ...imp.errors.map((e) => [e.row, e.column ?? '', e.error])];
  const blob = new Blob([`${lines.map((l) => l.map(csvCell).join(',')).join('\r\n')}\r\n`], { type: 'text/csv' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = `import-${imp.id}-failed-rows.csv`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function headline(imp) {
  if (imp.status === 'failed') return 'The import failed';
  if (imp.status === 'cancelled') return 'The import was cancelled';
  if (imp.failed > 0) return `Finished with ${plural(imp.failed, 'failed row')}`;
  return 'Import complete';
}

function Summary({ imp }) {
  const { navigate } = useSession();
  const bad = imp.status !== 'completed' || imp.failed > 0;
  return html`<div data-testid="import-summary" data-status=${imp.status} class=${bad ? 'import-summary bad' : 'import-summary'}>
    <h2 class=${`status-${bad ? 'failed' : 'completed'}`}>${headline(imp)}</h2>
    ${imp.message && html`<p>${imp.message}</p>`}
    <div class="stats">
      ${[
        ['created', 'Created'],
        ['merged', 'Merged'],
        ['skipped', 'Skipped'],
        ['failed', 'Failed'],
      ].map(
        ([key, label]) => html`<div class=${key === 'failed' && imp.failed > 0 ? 'stat bad' : 'stat'} data-stat=${key}>
          <strong>${formatNumber(imp[key])}</strong>${label}
        </div>`,
      )}
    </div>
    <p class="muted">
      ${formatNumber(imp.processed)} of ${formatNumber(imp.totalRows ?? imp.processed)} rows processed.${' '}
      ${imp.finishedAt && html`Finished <${Time} iso=${imp.finishedAt} />.`}
    </p>
    <div class="form-actions">
      <button type="button" onClick=${() => navigate({ ...emptyView(), page: 'contacts' })}>View contacts</button>
    </div>
    ${imp.errors && imp.errors.length > 0 &&
    html`<h3>Failed rows</h3>
      ${imp.failed > imp.errors.length && html`<p class="muted">The first ${formatNumber(imp.errors.length)} of ${formatNumber(imp.failed)} failures are kept.</p>`}
      <div class="scroll-x">
        <table class="list-table">
          <thead>
            <tr><th class="num">Row</th><th>Column</th><th>Reason</th></tr>
          </thead>
          <tbody>
            ${imp.errors.map(
              (e) => html`<tr data-testid="import-error-row" data-row=${e.row}>
                <td class="num">${e.row}</td>
                <td>${e.column || html`<span class="muted">—</span>`}</td>
                <td>${e.error}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <button type="button" data-testid="download-errors" onClick=${() => downloadErrors(imp)}>Download failed rows (CSV)</button>`}
  </div>`;
}

function RecentImports() {
  const { navigate, revision, view } = useSession();
  const [list, setList] = useState(null);
  useAbortableEffect(
    (signal) => {
      api
        .imports(signal)
        .then((answer) => setList(answer.imports))
        .catch(() => {});
    },
    [revision, view.import],
  );
  if (!list || list.length === 0) return null;
  return html`<div class="recent-imports">
    <h2>Recent imports</h2>
    <table class="list-table stack">
      <thead>
        <tr>
          <th>Started</th>
          <th>Status</th>
          <th class="num">Rows</th>
          <th class="num">Created</th>
          <th class="num">Merged</th>
          <th class="num">Skipped</th>
          <th class="num">Failed</th>
        </tr>
      </thead>
      <tbody>
        ${list.map(
          (imp) => html`<tr data-testid="import-item" data-id=${imp.id} key=${imp.id}>
            <td data-label="Started">
              <a href=${`#/imports?import=${imp.id}`} onClick=${(e) => {
                e.preventDefault();
                navigate({ import: imp.id });
              }}><${Time} iso=${imp.createdAt} /></a>
            </td>
            <td data-label="Status" class=${`status-${imp.status === 'completed' && imp.failed > 0 ? 'failed' : imp.status}`}>
              ${imp.status === 'completed' && imp.failed > 0 ? 'completed with failures' : imp.status}
            </td>
            <td data-label="Rows" class="num">${formatNumber(imp.processed)}${imp.totalRows ? ` / ${formatNumber(imp.totalRows)}` : ''}</td>
            <td data-label="Created" class="num">${formatNumber(imp.created)}</td>
            <td data-label="Merged" class="num">${formatNumber(imp.merged)}</td>
            <td data-label="Skipped" class="num">${formatNumber(imp.skipped)}</td>
            <td data-label="Failed" class="num">${formatNumber(imp.failed)}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
