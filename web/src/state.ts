import { signal } from './signal';

// Bumped on sign-in and sign-out so the app re-reads the session.
export const sessionVersion = signal(0);
