// The app's IndexedDB database. Later issues add stores here (bump VERSION, add an upgrade step).
import { openDB } from 'idb';

const NAME = 'lianxin';
const VERSION = 1;

let opening = null;

export function db() {
  if (!opening) {
    opening = openDB(NAME, VERSION, {
      upgrade(database, oldVersion) {
        if (oldVersion < 1) {
          // Writes waiting for the server, in the order they were made (seq is autoIncrement).
          const outbox = database.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
          outbox.createIndex('client_id', 'client_id', { unique: true });
          // What the server recently confirmed (or refused as a conflict), newest last; capped.
          database.createObjectStore('outbox_done', { keyPath: 'seq', autoIncrement: true });
        }
      },
      blocking() {
        // A newer version of the app wants to upgrade the database: let it.
        opening?.then((database) => database.close());
        opening = null;
      },
    });
  }
  return opening;
}
