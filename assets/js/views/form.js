// The create and edit form. The API validates; its message appears beside
// the field it names and nothing is saved until the form is right.

import { api } from '../api.js';
import { ChipInput } from '../components.js';
import { useSession } from '../context.js';
import { formatPhone } from '../format.js';
import { html, useEffect, useRef, useState } from '../html.js';
import { US_STATES } from '../states.js';
import { useTagSuggestions } from '../suggestions.js';

export const FIELD_LABELS = {
  firstName: 'First name',
  lastName: 'Last name',
  phone: 'Phone',
  email: 'Email',
  address: 'Address',
  city: 'City',
  state: 'State',
  zip: 'ZIP',
  timezone: 'Time zone',
  tags: 'Tags',
  customFields: 'Custom fields',
  isStarred: 'Starred',
  isArchived: 'Archived',
  isOptedIn: 'Opted in',
};

const TEXT_FIELDS = ['firstName', 'lastName', 'phone', 'email', 'address', 'city', 'state', 'zip', 'timezone'];
const MAX_CUSTOM_FIELDS = 20;

const TIME_ZONES = (() => {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'];
  }
})();

function initialText(contact, field) {
  if (!contact) return '';
  if (field === 'phone') return formatPhone(contact.phone) || '';
  return contact[field] ?? '';
}

function typeOf(value) {
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  return 'text';
}

function rowsOf(customFields) {
  return Object.entries(customFields || {}).map(([key, value], i) => ({
    id: i,
    key,
    type: typeOf(value),
    value: value === null ? '' : String(value),
  }));
}

/** The rows as an object, or an error naming the row at fault. */
function customFieldsOf(rows) {
  const out = {};
  for (const row of rows) {
    const key = row.key.trim();
    if (!key && !row.value.trim()) continue;
    if (!key) return { error: 'Every custom field needs a name.' };
    if (key in out) return { error: `The custom field “${key}” appears twice.` };
    if (row.type === 'number') {
      const n = Number(row.value.trim());
      if (row.value.trim() === '' || !Number.isFinite(n)) return { error: `“${key}” must be a number.` };
      out[key] = n;
    } else if (row.type === 'boolean') {
      out[key] = row.value === 'true';
    } else {
      out[key] = row.value === '' ? null : row.value;
    }
  }
  return { value: out };
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/**
 * `mode` is `create` or `edit`. `onSaved(contact, outcome)` gets the API's
 * answer (`outcome` is `created` or `merged` for a create).
 */
export function ContactForm({ mode, contact, onSaved, onCancel }) {
  const { revision } = useSession();
  const suggestTags = useTagSuggestions(revision);
  const [values, setValues] = useState(() =>
    Object.fromEntries(TEXT_FIELDS.map((f) => [f, initialText(contact, f)])),
  );
  const [tags, setTags] = useState(() => contact?.tags ?? []);
  const [rows, setRows] = useState(() => rowsOf(contact?.customFields));
  const [flags, setFlags] = useState(() => ({
    isStarred: contact?.isStarred ?? false,
    isArchived: contact?.isArchived ?? false,
  }));
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const formRef = useRef(null);
  const nextRow = useRef(rows.length);

  const body = () => {
    const out = {};
    for (const field of TEXT_FIELDS) {
      const text = values[field].trim();
      if (mode === 'create') {
        if (text) out[field] = text;
      } else if (text !== String(initialText(contact, field)).trim()) {
        out[field] = text || null;
      }
    }
    if (mode === 'create' ? tags.length : !same(tags, contact.tags)) out.tags = tags;
    const custom = customFieldsOf(rows);
    if (custom.error) return { error: { customFields: custom.error } };
    if (mode === 'create' ? Object.keys(custom.value).length : !same(custom.value, contact.customFields)) {
      out.customFields = custom.value;
    }
    if (mode === 'edit') {
      for (const flag of ['isStarred', 'isArchived']) {
        if (flags[flag] !== contact[flag]) out[flag] = flags[flag];
      }
    }
    return { value: out };
  };

  const save = async () => {
    if (busy) return;
    const built = body();
    if (built.error) {
      setErrors(built.error);
      return;
    }
    if (mode === 'create' && !built.value.phone && !built.value.email) {
      setErrors({ phone: 'A contact needs a phone number or an email address.' });
      formRef.current?.querySelector('[name="phone"]')?.focus();
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      if (mode === 'create') {
        const created = await api.createContact(built.value);
        onSaved(created, created._outcome);
      } else if (Object.keys(built.value).length === 0) {
        onSaved(contact);
      } else {
        onSaved(await api.updateContact(contact.id, built.value));
      }
    } catch (err) {
      const field = err.field || (err.status === 409 ? 'phone' : '_form');
      setErrors({ [field]: err.message });
      const input = formRef.current?.querySelector(`[name="${field}"]`);
      input?.focus();
    } finally {
      setBusy(false);
    }
  };

  // Ctrl+S or Cmd+S saves while the form is open.
  const saveRef = useRef(save);
  saveRef.current = save;
  useEffect(() => {
    const onKey = (event) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
        event.preventDefault();
        saveRef.current();
      }
    };
    document.addEventListener('keydown', onKey);
    formRef.current?.querySelector('input')?.focus();
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const text = (field, props = {}) => html`<${TextField}
    field=${field}
    value=${values[field]}
    error=${errors[field]}
    onInput=${(v) => setValues((current) => ({ ...current, [field]: v }))}
    ...${props}
  />`;
  const knownErrors = new Set([...TEXT_FIELDS, 'tags', 'customFields']);
  const otherErrors = Object.entries(errors).filter(([field]) => !knownErrors.has(field));

  return html`
    <form
      class="contact-form"
      data-testid="contact-form"
      ref=${formRef}
      novalidate
      onSubmit=${(e) => {
        e.preventDefault();
        save();
      }}
    >
      ${otherErrors.map(
        ([field, message]) => html`<p class="error" role="alert" data-testid="field-error" data-field=${field}>${message}</p>`,
      )}
      <div class="grid-2">
        ${text('firstName', { autocomplete: 'off' })} ${text('lastName', { autocomplete: 'off' })}
      </div>
      ${text('phone', { type: 'tel', hint: 'Any US format, or international with +' })}
      ${text('email', { type: 'email' })}
      ${text('address')}
      <div class="grid-3">
        ${text('city')} ${text('state', { list: 'state-codes', maxlength: 20 })} ${text('zip')}
      </div>
      ${text('timezone', { list: 'time-zones', hint: 'An IANA name, such as America/Chicago' })}
      <datalist id="state-codes">
        ${US_STATES.map(([code, name]) => html`<option value=${code}>${name}</option>`)}
      </datalist>
      <datalist id="time-zones">${TIME_ZONES.map((z) => html`<option value=${z}></option>`)}</datalist>
      <${ChipInput}
        label="Tags"
        testid="tag-editor"
        inputTestid="tag-input"
        chipTestid="tag-chip"
        values=${tags}
        placeholder="Add a tag"
        suggest=${suggestTags}
        onChange=${setTags}
      />
      ${errors.tags && html`<p class="error" data-testid="field-error" data-field="tags">${errors.tags}</p>`}
      <${CustomFieldsEditor}
        rows=${rows}
        error=${errors.customFields}
        onChange=${setRows}
        newRow=${() => {
          nextRow.current += 1;
          return { id: nextRow.current, key: '', type: 'text', value: '' };
        }}
      />
      ${mode === 'edit' &&
      html`<fieldset class="flags">
        <legend>Flags</legend>
        ${['isStarred', 'isArchived'].map(
          (flag) => html`<label class="check">
            <input
              type="checkbox"
              name=${flag}
              checked=${flags[flag]}
              onChange=${(e) => setFlags((current) => ({ ...current, [flag]: e.target.checked }))}
            />
            ${FIELD_LABELS[flag]}
          </label>`,
        )}
      </fieldset>`}
      <div class="form-actions">
        <button type="button" onClick=${onCancel}>Cancel</button>
        <button type="submit" class="primary" data-testid="save" disabled=${busy}>
          ${busy ? 'Saving…' : mode === 'create' ? 'Create contact' : 'Save changes'}
        </button>
        <span class="muted kbd-hint">Ctrl+S saves</span>
      </div>
    </form>
  `;
}

function TextField({ field, value, error, onInput, hint, type = 'text', ...rest }) {
  const id = `field-${field}`;
  return html`<div class="field">
    <label class="label" for=${id}>${FIELD_LABELS[field]}</label>
    <input
      id=${id}
      name=${field}
      type=${type}
      value=${value}
      aria-invalid=${Boolean(error)}
      aria-describedby=${error ? `${id}-error` : hint ? `${id}-hint` : null}
      onInput=${(e) => onInput(e.target.value)}
      ...${rest}
    />
    ${error
      ? html`<p class="error" id=${`${id}-error`} role="alert" data-testid="field-error" data-field=${field}>${error}</p>`
      : hint && html`<p class="hint" id=${`${id}-hint`}>${hint}</p>`}
  </div>`;
}

function CustomFieldsEditor({ rows, error, onChange, newRow }) {
  const set = (id, patch) => onChange(rows.map((r) => (r.id === id ? { ...r, ...patch } : r)));
  const full = rows.length >= MAX_CUSTOM_FIELDS;
  return html`<fieldset class="custom-fields">
    <legend>Custom fields <span class="muted">${rows.length} of ${MAX_CUSTOM_FIELDS}</span></legend>
    ${rows.map(
      (row) => html`<div class="custom-field-row" data-testid="custom-field-row" key=${row.id}>
        <input
          name="customFieldKey"
          aria-label="Field name"
          placeholder="Name"
          value=${row.key}
          onInput=${(e) => set(row.id, { key: e.target.value })}
        />
        <select
          name="customFieldType"
          aria-label="Type"
          value=${row.type}
          onChange=${(e) => set(row.id, { type: e.target.value, value: e.target.value === 'boolean' ? 'true' : row.value })}
        >
          <option value="text">Text</option>
          <option value="number">Number</option>
          <option value="boolean">Yes / no</option>
        </select>
        ${row.type === 'boolean'
          ? html`<select name="customFieldValue" aria-label="Value" value=${row.value} onChange=${(e) => set(row.id, { value: e.target.value })}>
              <option value="true">Yes</option>
              <option value="false">No</option>
            </select>`
          : html`<input
              name="customFieldValue"
              aria-label="Value"
              placeholder="Value"
              inputmode=${row.type === 'number' ? 'decimal' : null}
              value=${row.value}
              onInput=${(e) => set(row.id, { value: e.target.value })}
            />`}
        <button type="button" class="icon-button" aria-label=${`Remove ${row.key || 'this field'}`} onClick=${() => onChange(rows.filter((r) => r.id !== row.id))}>
          ×
        </button>
      </div>`,
    )}
    ${error && html`<p class="error" role="alert" data-testid="field-error" data-field="customFields">${error}</p>`}
    <button type="button" data-testid="add-custom-field" disabled=${full} onClick=${() => onChange([...rows, newRow()])}>
      ${full ? 'At most 20 custom fields' : 'Add custom field'}
    </button>
  </fieldset>`;
}
