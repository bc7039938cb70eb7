// Controls shared by the contacts filters and a segment's header.

import { Select } from '../components.js';
import { useSession } from '../context.js';
import { html } from '../html.js';

export function SortSelect() {
  const { view, navigate } = useSession();
  return html`<${Select}
    label="Sort"
    testid="sort"
    value=${view.sortBy}
    options=${[
      ['updated_at', 'Recently updated'],
      ['created_at', 'Recently created'],
    ]}
    onChange=${(sortBy) => navigate({ sortBy })}
  />`;
}

/** Choosing a segment lists its contacts; "none" goes back to ad-hoc filters. */
export function SegmentSelect() {
  const { segments, view, navigate } = useSession();
  if (!segments || segments.length === 0) return null;
  return html`<${Select}
    label="Segment"
    testid="filter-segment"
    value=${view.segment}
    options=${[['', 'None'], ...segments.map((s) => [s.id, s.name])]}
    onChange=${(segment) => navigate({ segment, editSegment: '', contact: '' })}
  />`;
}
