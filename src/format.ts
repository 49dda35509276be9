/**
 * How times and sizes read in the panels.
 */
import { Time } from '@jupyterlab/coreutils';

/** "3 minutes ago", with the exact local time for a tooltip. */
export function relativeTime(iso: string): { text: string; exact: string } {
  return { text: Time.formatHuman(iso), exact: new Date(iso).toLocaleString() };
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
