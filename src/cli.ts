/** The command line lives in src/cli/ (main.ts is its entry); this name is kept for tools that look for it. */
export { main } from './cli/main.js';
