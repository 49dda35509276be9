/**
 * Errors and results as JupyterLab notifications: never a silent failure.
 */
import { Notification } from '@jupyterlab/apputils';

import { BookstoreError } from './api';

/** Show `error` (the server's message when it has one) as an error notification. */
export function notifyError(action: string, error: unknown): void {
  const message =
    error instanceof BookstoreError || error instanceof Error ? error.message : String(error);
  console.error(`bookstore: ${action} failed`, error);
  Notification.error(`${action} failed: ${message}`, { autoClose: false });
}

/** Run `task`; on failure show the error and resolve to undefined. */
export async function reportErrors<T>(action: string, task: () => Promise<T>): Promise<T | undefined> {
  try {
    return await task();
  } catch (error) {
    notifyError(action, error);
    return undefined;
  }
}

/** A short-lived success notification. */
export function notifySuccess(message: string): void {
  Notification.success(message, { autoClose: 5000 });
}
