/** Attributes of {@link element}: strings become attributes, `false` leaves one out. */
export type Attributes = Record<string, string | boolean>;

/** A child of {@link element}: text (set as text, never parsed as HTML) or a node. */
export type Child = string | Node;

/**
 * Creates an element with attributes and children. Text children become text nodes,
 * so box titles and messages can never inject markup.
 *
 * @example
 * element('p', { class: 'hint' }, 'Check your inbox.');
 */
export function element<Tag extends keyof HTMLElementTagNameMap>(
  tag: Tag,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[Tag] {
  const node = document.createElement(tag);

  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) {
      node.setAttribute(name, '');
    } else if (value !== false) {
      node.setAttribute(name, value);
    }
  }

  node.append(...children);
  return node;
}
