// Pieces every screen uses: the confirmation dialog, toasts, the chip input,
// labelled selects, banners and the loading skeleton.

import { html, useEffect, useRef, useState } from './html.js';

// --- confirmation dialog and toasts -------------------------------------

let showDialog = () => {};
let showToast = () => {};
// Each dialog is a new one, even when it follows another at once.
let dialogs = 0;
const openDialog = (props) => {
  dialogs += 1;
  showDialog({ ...props, serial: dialogs });
};

/**
 * Asks for confirmation; resolves true or false. `count` is stated in the
 * dialog (`confirm-count`) when given; `danger` styles the confirm button
 * and focuses Cancel.
 */
export function confirm({ title, message, count, confirmLabel = 'Confirm', danger = false }) {
  return new Promise((resolve) => {
    openDialog({ title, message, count, confirmLabel, danger, resolve });
  });
}

export function toast(message, kind = 'info') {
  showToast({ message, kind, at: Date.now() });
}

/** Whether a modal dialog is open (Escape closes it first). */
export function dialogOpen() {
  return Boolean(document.querySelector('[role="dialog"][aria-modal="true"]'));
}

export function Overlays() {
  const [dialog, setDialog] = useState(null);
  const [note, setNote] = useState(null);
  showDialog = setDialog;
  showToast = setNote;
  useEffect(() => {
    if (!note) return undefined;
    const timer = setTimeout(() => setNote(null), note.kind === 'error' ? 8000 : 5000);
    return () => clearTimeout(timer);
  }, [note]);
  const close = (answer) => {
    dialog.resolve(answer);
    setDialog(null);
  };
  return html`
    ${dialog && html`<${Dialog} key=${dialog.serial} ...${dialog} onClose=${close} />`}
    ${note &&
    html`<div class="toast toast-${note.kind}" role="status" data-testid="toast">
      <span>${note.message}</span>
      <button type="button" class="link" aria-label="Dismiss" onClick=${() => setNote(null)}>×</button>
    </div>`}
  `;
}

/**
 * Asks for one line of text. `submit(value)` runs before the dialog closes;
 * if it throws, its message is shown in the dialog and the value can be
 * corrected. Resolves with submit's result, or null when cancelled.
 */
export function prompt({ title, message, label, value = '', testid, confirmLabel = 'Save', submit }) {
  return new Promise((resolve) => {
    openDialog({ title, message, input: { label, value, testid }, confirmLabel, submit, resolve });
  });
}

function Dialog({ title, message, count, confirmLabel, danger, input, submit, onClose }) {
  const cancelRef = useRef(null);
  const confirmRef = useRef(null);
  const inputRef = useRef(null);
  const [text, setText] = useState(input ? input.value : '');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const opener = document.activeElement;
    if (input) inputRef.current?.select();
    else (danger ? cancelRef : confirmRef).current?.focus();
    const onKey = (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        onClose(input ? null : false);
      }
    };
    document.addEventListener('keydown', onKey, true);
    return () => {
      document.removeEventListener('keydown', onKey, true);
      if (opener && document.contains(opener)) opener.focus();
    };
  }, []);
  const accept = async (event) => {
    event.preventDefault();
    if (!input) {
      onClose(true);
      return;
    }
    const value = text.trim();
    if (!value) {
      setError(`${input.label} is required.`);
      return;
    }
    if (!submit) {
      onClose(value);
      return;
    }
    setBusy(true);
    try {
      const result = await submit(value);
      onClose(result ?? value);
    } catch (err) {
      setError(err.message);
      setBusy(false);
      inputRef.current?.focus();
    }
  };
  return html`
    <div class="backdrop" onClick=${(e) => e.target === e.currentTarget && onClose(input ? null : false)}>
      <form class="dialog" role="dialog" aria-modal="true" aria-labelledby="dialog-title" onSubmit=${accept} novalidate>
        <h2 id="dialog-title">${title}</h2>
        ${count !== undefined &&
        html`<p class="dialog-count">
          <strong data-testid="confirm-count">${count.toLocaleString('en-US')}</strong>
          ${count === 1 ? ' contact' : ' contacts'}
        </p>`}
        ${message && html`<p>${message}</p>`}
        ${input &&
        html`<label class="field" for="dialog-input">
          <span class="label">${input.label}</span>
          <input
            id="dialog-input"
            ref=${inputRef}
            data-testid=${input.testid}
            value=${text}
            autocomplete="off"
            aria-invalid=${Boolean(error)}
            onInput=${(e) => {
              setText(e.target.value);
              setError('');
            }}
          />
        </label>`}
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <div class="dialog-actions">
          <button type="button" ref=${cancelRef} data-testid="cancel" onClick=${() => onClose(input ? null : false)}>
            Cancel
          </button>
          <button type="submit" ref=${confirmRef} class=${danger ? 'danger' : 'primary'} data-testid="confirm" disabled=${busy}>
            ${confirmLabel}
          </button>
        </div>
      </form>
    </div>
  `;
}

// --- form pieces --------------------------------------------------------

let ids = 0;
export function useId(prefix) {
  const ref = useRef(null);
  if (!ref.current) {
    ids += 1;
    ref.current = `${prefix}-${ids}`;
  }
  return ref.current;
}

/** A labelled <select>; `options` are [value, label] pairs. */
export function Select({ label, value, options, onChange, testid, compact }) {
  const id = useId('select');
  return html`
    <label class=${compact ? 'field compact' : 'field'} for=${id}>
      <span class="label">${label}</span>
      <select id=${id} data-testid=${testid} value=${value} onChange=${(e) => onChange(e.target.value)}>
        ${options.map(([v, text]) => html`<option value=${v} selected=${v === value}>${text}</option>`)}
      </select>
    </label>
  `;
}

/**
 * Chips with an input that suggests values. Enter or a comma adds what is
 * typed (or the highlighted suggestion); Backspace on an empty input removes
 * the last chip. `suggest(text)` returns [value, hint] pairs.
 */
export function ChipInput({
  label,
  values,
  onChange,
  suggest,
  testid,
  inputTestid,
  chipTestid,
  placeholder,
  normalize = (v) => v.trim(),
  disabled,
}) {
  const id = useId('chips');
  const [text, setText] = useState('');
  const [open, setOpen] = useState(false);
  // No suggestion is taken by Enter until the user moves to one.
  const [active, setActive] = useState(-1);
  const lower = values.map((v) => v.toLowerCase());
  const options = open
    ? (suggest ? suggest(text) : []).filter(([v]) => !lower.includes(v.toLowerCase())).slice(0, 8)
    : [];
  const add = (raw) => {
    const value = normalize(raw);
    setText('');
    setActive(-1);
    if (!value || lower.includes(value.toLowerCase())) return;
    onChange([...values, value]);
  };
  const remove = (value) => onChange(values.filter((v) => v !== value));
  const onKeyDown = (event) => {
    if (event.key === 'Enter' || (event.key === ',' && text.trim())) {
      event.preventDefault();
      if (event.key === 'Enter' && active >= 0 && options[active]) {
        add(options[active][0]);
      } else if (text.trim()) {
        add(text);
      }
    } else if (event.key === 'Backspace' && !text && values.length) {
      remove(values[values.length - 1]);
    } else if (event.key === 'ArrowDown') {
      event.preventDefault();
      setOpen(true);
      setActive((a) => Math.min(a + 1, options.length - 1));
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      setActive((a) => Math.max(a - 1, -1));
    } else if (event.key === 'Escape' && open && options.length) {
      event.stopPropagation();
      setOpen(false);
    }
  };
  return html`
    <div class="field" data-testid=${testid}>
      <label class="label" for=${id}>${label}</label>
      <div class=${disabled ? 'chips disabled' : 'chips'} onClick=${(e) => e.currentTarget.querySelector('input')?.focus()}>
        ${values.map(
          (value) => html`<span class="chip" data-testid=${chipTestid}>
            <span class="chip-text">${value}</span>
            ${!disabled &&
            html`<button type="button" class="chip-remove" aria-label=${`Remove ${value}`} onClick=${() => remove(value)}>×</button>`}
          </span>`,
        )}
        ${!disabled &&
        html`<input
          id=${id}
          data-testid=${inputTestid}
          value=${text}
          placeholder=${values.length ? '' : placeholder}
          autocomplete="off"
          role="combobox"
          aria-expanded=${options.length > 0}
          aria-controls=${`${id}-list`}
          onInput=${(e) => {
            setText(e.target.value);
            setOpen(true);
            setActive(-1);
          }}
          onFocus=${() => setOpen(true)}
          onBlur=${() => setTimeout(() => setOpen(false), 150)}
          onKeyDown=${onKeyDown}
        />`}
      </div>
      ${options.length > 0 &&
      html`<ul class="suggestions" id=${`${id}-list`} role="listbox">
        ${options.map(
          ([value, hint], i) => html`<li
            role="option"
            aria-selected=${i === active}
            class=${i === active ? 'active' : ''}
            onMouseDown=${(e) => {
              e.preventDefault();
              add(value);
            }}
          >
            <span>${value}</span>${hint && html`<span class="hint">${hint}</span>`}
          </li>`,
        )}
      </ul>`}
    </div>
  `;
}

// --- states -------------------------------------------------------------

export function Banner({ error, onRetry }) {
  if (!error) return null;
  return html`<div class="banner banner-error" role="alert">
    <span>${error.message}</span>
    ${onRetry && html`<button type="button" onClick=${onRetry}>Retry</button>`}
  </div>`;
}

export function Skeleton({ rows = 8 }) {
  return html`<div class="skeleton" data-testid="loading" aria-busy="true" aria-label="Loading">
    ${Array.from({ length: rows }, () => html`<div class="skeleton-row"><span></span><span></span><span></span></div>`)}
  </div>`;
}

export function Spinner({ label = 'Loading' }) {
  return html`<span class="spinner" role="status" aria-label=${label}></span>`;
}

/** Runs `effect(signal)` when `deps` change, aborting the previous run. */
export function useAbortableEffect(effect, deps) {
  useEffect(() => {
    const controller = new AbortController();
    effect(controller.signal);
    return () => controller.abort();
  }, deps);
}
