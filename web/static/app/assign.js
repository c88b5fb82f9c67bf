// AssignControl gives a case to an operator (POST /v1/cases/{id}/assign,
// staff only): "Assign to me", a free-text operator or desk name, or nobody.
// The operator is free text to the API; "me" is the token's subject (the desk
// name it was minted with), else the token's role and id.

import { errorText } from './common.js';
import { t } from './lang.js';

const $ = (id) => document.getElementById(id);

// meAsOperator names the signed-in operator the way assignments show them.
export function meAsOperator(me) {
  if (!me) return '';
  return me.subject || `${me.role}@${me.token_id || ''}`;
}

// assigneeText says who works a case.
export function assigneeText(assignee) {
  return assignee ? t('assignedToX', { who: assignee }) : t('unassigned');
}

export class AssignControl {
  // onChanged(case) shows the case the server answered.
  constructor(app, caseID, onChanged) {
    this.app = app;
    this.caseID = caseID;
    this.onChanged = onChanged;
    $('c-assign-me').addEventListener('click', () => this.assign(meAsOperator(app.me)));
    $('c-unassign').addEventListener('click', () => this.assign(''));
    $('c-assign-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const who = $('c-assign-to').value.trim();
      if (!who) {
        $('c-error').textContent = 'operator: type the operator or desk to assign the case to';
        return;
      }
      this.assign(who);
    });
  }

  // show reflects case c: the controls are for cases still being worked.
  show(c, finished) {
    $('c-assign-form').hidden = finished;
    $('c-unassign').hidden = !c.assignee;
    $('c-assign-me').disabled = c.assignee === meAsOperator(this.app.me);
  }

  async assign(operator) {
    const id = this.caseID();
    if (!id) return;
    $('c-error').textContent = '';
    let c;
    try {
      c = await this.app.api.post(`/v1/cases/${encodeURIComponent(id)}/assign`, { operator });
    } catch (e) {
      $('c-error').textContent = t('assignFailed', { id, err: errorText(e) });
      return;
    }
    $('c-assign-to').value = '';
    this.app.toast(operator ? t('assignedToast', { id, who: operator }) : t('unassignedToast', { id }));
    await this.onChanged(c);
  }
}
