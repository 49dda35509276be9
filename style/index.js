import './base.css';
import './rundialog.css';
import './history.css';
