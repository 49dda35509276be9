/**
 * Errors and results as JupyterLab notifications: never a silent failure.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

/** JupyterLab cuts a notification's message after this many characters. */
const NOTIFICATION_LIMIT = 140;

/** The message of `error` (the server's message for a {@link BookstoreError}). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Show `error` (the server's message when it has one) as an error notification; a
 * message too long for it gets a "Details" button showing it whole. */
export function notifyError(action: string, error: unknown): void {
  console.error(`bookstore: ${action} failed`, error);
  const message = `${action} failed: ${errorMessage(error)}`;
  const actions: Notification.IAction[] = [];
  if (message.length > NOTIFICATION_LIMIT) {
    actions.push({
      label: 'Details',
      caption: 'Show the whole message',
      callback: event => {
        event.preventDefault(); // keep the notification, to read it again later
        const body = document.createElement('p');
        body.className = 'jp-bookstore-errorDetails';
        body.textContent = errorMessage(error);
        void showDialog({
          title: `${action} failed`,
          body: new Widget({ node: body }),
          buttons: [Dialog.okButton({ label: 'Close' })]
        });
      }
    });
  }
  Notification.error(message, { autoClose: false, actions });
}

/** A short-lived success notification. */
export function notifySuccess(message: string): void {
  Notification.success(message, { autoClose: 5000 });
}
