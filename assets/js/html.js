// The one place the vendored libraries are imported: Preact's h and render,
// its hooks, and htm bound to h so views write markup in tagged templates.
import { createContext, h, render } from '../vendor/preact-11.2.0.mjs';
import htm from '../vendor/htm-3.1.1.mjs';

export { createContext, h, render };
export {
  useCallback,
  useContext,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from '../vendor/preact-hooks-11.2.0.mjs';

export const html = htm.bind(h);
