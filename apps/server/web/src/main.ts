import { startRecipientPage } from './recipient-page.js';

const main = document.getElementById('page');
if (main !== null) {
  startRecipientPage(main);
}
