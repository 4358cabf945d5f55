import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import { applyTheme, initialTheme } from './app/theme';
import { prefetchDevices } from './live/live-store';
import './styles.css';

applyTheme(initialTheme());
prefetchDevices();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
