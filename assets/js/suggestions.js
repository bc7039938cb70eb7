// Suggestions for tag inputs: the organization's tags, most used first.

import { api } from './api.js';
import { useAbortableEffect } from './components.js';
import { formatNumber } from './format.js';
import { useState } from './html.js';

/** Every tag in use, for suggestions: [tag, count] pairs, most used first. */
export function useTagSuggestions(revision) {
  const [tags, setTags] = useState([]);
  useAbortableEffect(
    (signal) => {
      api
        .tags(signal)
        .then((answer) => setTags(answer.tags))
        .catch(() => {});
    },
    [revision],
  );
  return (text) => {
    const t = text.trim().toLowerCase();
    return tags
      .filter(({ tag }) => !t || tag.toLowerCase().includes(t))
      .map(({ tag, count }) => [tag, formatNumber(count)]);
  };
}
