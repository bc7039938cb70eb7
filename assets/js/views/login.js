// Sign-in: paste an API key; it is checked with GET /api/me before it is kept.

import { api } from '../api.js';
import { html, useEffect, useRef, useState } from '../html.js';

export function Login({ message, onSignedIn }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const input = useRef(null);
  useEffect(() => input.current?.focus(), []);

  const submit = async (event) => {
    event.preventDefault();
    const typed = key.trim();
    if (!typed) {
      setError('Paste an API key to sign in.');
      return;
    }
    setBusy(true);
    setError('');
    try {
      const who = await api.me(typed);
      onSignedIn(typed, who);
    } catch (err) {
      setError(
        err.status === 401
          ? 'That key was not accepted. Check that you copied all of it, and that it has not been revoked.'
          : err.message,
      );
      input.current?.select();
    } finally {
      setBusy(false);
    }
  };

  return html`
    <main class="login">
      <form class="login-card" onSubmit=${submit} novalidate>
        <div class="brand"><span class="logo" aria-hidden="true">R</span> Roster</div>
        <h1>Sign in</h1>
        ${message && html`<p class="notice">${message}</p>`}
        <label class="field" for="login-key">
          <span class="label">API key</span>
          <input
            id="login-key"
            ref=${input}
            type="password"
            data-testid="login-key"
            autocomplete="off"
            spellcheck="false"
            placeholder="rst_…"
            value=${key}
            aria-invalid=${Boolean(error)}
            aria-describedby="login-help"
            onInput=${(e) => setKey(e.target.value)}
          />
        </label>
        ${error && html`<p class="error" role="alert" data-testid="login-error">${error}</p>`}
        <button class="primary wide" type="submit" data-testid="login-submit" disabled=${busy}>
          ${busy ? 'Checking…' : 'Sign in'}
        </button>
        <p class="help" id="login-help">
          The server printed a key when it first started. Create more with${' '}
          <code>roster keys create --org NAME --access write</code>. The key is kept in this tab
          only and forgotten when you close it or sign out.
        </p>
      </form>
    </main>
  `;
}
