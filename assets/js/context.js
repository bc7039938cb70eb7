// What every screen needs to know about the session: who is signed in, what
// the key may do, the current view and how to change it, and a counter that
// tells lists to reload after a write.

import { createContext, useContext } from './html.js';

export const Session = createContext(null);

/** `{ me, canWrite, view, navigate, revision, changed, segments, segmentsError, reloadSegments }` */
export function useSession() {
  return useContext(Session);
}
