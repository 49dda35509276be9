/**
 * Bookstore's icon: three books on a shelf (the catalog's sidebar tab).
 */
import { LabIcon } from '@jupyterlab/ui-components';

const BOOKS_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <rect x="3" y="4" width="4" height="15" rx="0.5"/>
    <rect x="8" y="6" width="4" height="13" rx="0.5"/>
    <rect x="13.2" y="5" width="4" height="14" rx="0.5" transform="rotate(-12 15.2 12)"/>
    <rect x="2" y="20" width="20" height="1.6" rx="0.5"/>
  </g>
</svg>`;

/** The catalog's icon. */
export const bookstoreIcon = new LabIcon({ name: 'bookstore:books', svgstr: BOOKS_SVG });
