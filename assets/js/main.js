// The admin UI's entry point: sign-in until a key is accepted, then the
// shell. A 401 from any call (a revoked key) returns to sign-in.

import { api, currentKey, forgetKey, keepKey, onUnauthorized } from './api.js';
import { html, render, useEffect, useState } from './html.js';
import { Login } from './views/login.js';
import { Shell } from './views/shell.js';

function App() {
  const [me, setMe] = useState(null);
  const [checking, setChecking] = useState(Boolean(currentKey()));
  const [message, setMessage] = useState('');

  useEffect(() => {
    onUnauthorized(() => {
      forgetKey();
      setMe(null);
      setMessage('Your API key is no longer accepted: it may have been revoked. Sign in with a valid key.');
    });
    if (!currentKey()) return;
    api
      .me()
      .then(setMe)
      .catch((err) => {
        if (err.status !== 401) setMessage(err.message);
      })
      .finally(() => setChecking(false));
  }, []);

  if (checking) {
    return html`<div class="boot" data-testid="loading" aria-busy="true">Loading…</div>`;
  }
  if (!me) {
    return html`<${Login}
      message=${message}
      onSignedIn=${(key, who) => {
        keepKey(key);
        setMessage('');
        setMe(who);
      }}
    />`;
  }
  return html`<${Shell}
    me=${me}
    onSignOut=${() => {
      forgetKey();
      setMessage('You have signed out.');
      setMe(null);
    }}
  />`;
}

render(html`<${App} />`, document.getElementById('app'));
