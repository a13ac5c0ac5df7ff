// The admin sign-in: with the admin token, or a user name and password.
// Either way the server answers with a session cookie the page cannot read.
import { ApiError } from '../api/client';
import type { SignIn } from '../api/types';
import { h } from '../ui/dom';

export function signInForm(signIn: (credentials: SignIn) => Promise<void>, reason?: string): HTMLElement {
  const tokenMode = h('input', { type: 'radio', name: 'mode', value: 'token', checked: true });
  const userMode = h('input', { type: 'radio', name: 'mode', value: 'user' });
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'current-password' });
  const user = h('input', { type: 'text', name: 'user', autocomplete: 'username' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password' });
  const tokenFields = h('label', { class: 'field' }, 'Admin token', token);
  const userFields = h(
    'div',
    { class: 'field-group', hidden: true },
    h('label', { class: 'field' }, 'User', user),
    h('label', { class: 'field' }, 'Password', password),
  );
  const status = h('p', { class: 'form-status', role: 'alert' }, reason ?? '');
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const showMode = (): void => {
    tokenFields.hidden = !tokenMode.checked;
    userFields.hidden = tokenMode.checked;
  };
  tokenMode.addEventListener('change', showMode);
  userMode.addEventListener('change', showMode);

  const form = h(
    'form',
    { class: 'sign-in', 'aria-label': 'Sign in to the admin pages' },
    h('h1', {}, 'Admin sign-in'),
    h(
      'fieldset',
      { class: 'modes' },
      h('legend', {}, 'Sign in with'),
      h('label', {}, tokenMode, ' Token'),
      h('label', {}, userMode, ' User and password'),
    ),
    tokenFields,
    userFields,
    submit,
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const credentials: SignIn = tokenMode.checked ? { token: token.value } : { user: user.value.trim(), password: password.value };
    submit.disabled = true;
    status.textContent = 'Signing in…';
    signIn(credentials)
      .catch((error: unknown) => {
        status.textContent = error instanceof ApiError ? signInMessage(error) : 'Sign-in failed.';
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  return form;
}

function signInMessage(error: ApiError): string {
  switch (error.code) {
    case 'sign_in_failed':
      return 'Wrong token, user or password.';
    case 'too_many_attempts':
      return 'Too many attempts: wait a minute, then try again.';
    case 'admin_disabled':
      return 'The admin pages are off on this server: set admin.token, or add a user with `cinemesh admin-user add NAME`.';
    default:
      return `${error.message} (${error.code})`;
  }
}
