/**
 * How times and sizes read in the panels.
 */
import { Time } from '@jupyterlab/coreutils';

/** "3 minutes ago", with the exact local time for a tooltip. */
export function relativeTime(iso: string): { text: string; exact: string } {
  return { text: Time.formatHuman(iso), exact: new Date(iso).toLocaleString() };
}

/** The attribute that marks an element showing a relative time: its value is the ISO time. */
export const LIVE_TIME_ATTRIBUTE = 'data-bookstore-time';
/** How often relative times are written again, in ms. */
const LIVE_TIME_MS = 15_000;
let liveTimer = 0;
const liveCallbacks = new Set<() => void>();

/** Call `callback` whenever relative times are written again (e.g. to rename a tab whose
 * label holds one); the returned function stops it. */
export function onLiveTimes(callback: () => void): () => void {
  liveCallbacks.add(callback);
  return () => liveCallbacks.delete(callback);
}

/** Write every relative time on the page again, all from one clock (so two elements
 * showing one time never disagree). */
export function updateLiveTimes(): void {
  for (const node of document.querySelectorAll<HTMLElement>(`[${LIVE_TIME_ATTRIBUTE}]`)) {
    const iso = node.getAttribute(LIVE_TIME_ATTRIBUTE);
    if (iso) {
      const text = relativeTime(iso).text;
      if (node.textContent !== text) {
        node.textContent = text;
      }
    }
  }
  for (const callback of liveCallbacks) {
    callback();
  }
}

/** Keep every relative time on the page current ("now" becomes "1 minute ago"): the
 * elements carrying {@link LIVE_TIME_ATTRIBUTE} are rewritten every 15 s. Idempotent. */
export function startLiveTimes(): void {
  if (!liveTimer) {
    liveTimer = window.setInterval(updateLiveTimes, LIVE_TIME_MS);
  }
}

/** A `<span>` showing `iso` as a relative time that stays current, the exact time as its
 * tooltip. */
export function liveTimeElement(iso: string, className = 'jp-bookstore-time'): HTMLSpanElement {
  const node = document.createElement('span');
  node.className = className;
  node.setAttribute(LIVE_TIME_ATTRIBUTE, iso);
  const when = relativeTime(iso);
  node.textContent = when.text;
  node.title = when.exact;
  return node;
}

/** 20817 -> "20.3 KB" (1024-based, like JupyterLab's file browser). */
export function formatSize(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A version id short enough for a list, e.g. "3HL4kqtJ…". */
export function shortId(id: string): string {
  return id.length > 10 ? `${id.slice(0, 8)}…` : id;
}

/** The file name of a path. */
export function baseName(path: string): string {
  return path.split('/').pop() || path;
}

/** 3.2 -> "3.2 s", 75 -> "1 min 15 s", 4000 -> "1 h 6 min". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) {
    return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ${Math.round(seconds % 60)} s`;
  }
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A short relative time for a tab label: "now", "3 min ago", "2 h ago", "5 days ago"
 * (beyond a week: the date). */
export function shortRelativeTime(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (seconds < 45) {
    return 'now';
  }
  if (seconds < 3600) {
    return `${Math.max(1, Math.round(seconds / 60))} min ago`;
  }
  if (seconds < 86400) {
    return `${Math.round(seconds / 3600)} h ago`;
  }
  if (seconds < 7 * 86400) {
    const days = Math.round(seconds / 86400);
    return `${days} day${days === 1 ? '' : 's'} ago`;
  }
  return new Date(iso).toLocaleDateString();
}
