/** Light or dark: the operator's choice if made, else the system's; kept on <html data-theme>. */
export type Theme = 'light' | 'dark';
const KEY = 'edgewire.theme';

export function initialTheme(): Theme {
  const saved = localStorage.getItem(KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem(KEY, theme);
  window.dispatchEvent(new Event('edgewire-theme'));
}

/** Colours charts draw with, read from the CSS custom properties of the current theme. */
export function chartColors(): { text: string; grid: string; line: string; fill: string } {
  const css = getComputedStyle(document.documentElement);
  const get = (name: string) => css.getPropertyValue(name).trim();
  return { text: get('--muted'), grid: get('--grid'), line: get('--accent'), fill: get('--accent-soft') };
}
