import './base.css';
import './rundialog.css';
