/**
 * Errors and results as JupyterLab notifications: never a silent failure.
 */
import { Notification } from '@jupyterlab/apputils';

/** The message of `error` (the server's message for a {@link BookstoreError}). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Show `error` (the server's message when it has one) as an error notification. */
export function notifyError(action: string, error: unknown): void {
  console.error(`bookstore: ${action} failed`, error);
  Notification.error(`${action} failed: ${errorMessage(error)}`, { autoClose: false });
}

/** A short-lived success notification. */
export function notifySuccess(message: string): void {
  Notification.success(message, { autoClose: 5000 });
}
