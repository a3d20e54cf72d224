// 登录: username and password; one request at a time; the API's Chinese message on failure;
// a locked account counts down the seconds it has to wait.
import { ApiError, NetworkError, request } from '../api.js';
import { h } from '../dom.js';
import { isOnline, onNetworkChange } from '../network.js';
import { saveTokens } from '../session.js';

/** notice: a line shown above the form (e.g. 登录已过期); username: prefilled. */
export function loginView({ notice = '', username = '', onLoggedIn }) {
  let busy = false;
  let lockTimer = null;

  const usernameError = h('p', { class: 'field-error', id: 'username-error', hidden: true });
  const passwordError = h('p', { class: 'field-error', id: 'password-error', hidden: true });
  const usernameInput = h('input', {
    id: 'username',
    name: 'username',
    type: 'text',
    autocomplete: 'username',
    autocapitalize: 'none',
    autocorrect: 'off',
    spellcheck: 'false',
    enterkeyhint: 'next',
    value: username,
    required: true,
  });
  const passwordInput = h('input', {
    id: 'password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    enterkeyhint: 'go',
    required: true,
  });
  const showPassword = h('button', {
    type: 'button',
    class: 'input-action',
    'aria-pressed': 'false',
    'aria-controls': 'password',
    onclick: () => {
      const shown = passwordInput.type === 'text';
      passwordInput.type = shown ? 'password' : 'text';
      showPassword.setAttribute('aria-pressed', String(!shown));
      showPassword.textContent = shown ? '显示' : '隐藏';
    },
  }, '显示');
  const message = h('div', { class: 'form-message', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, '登录');
  const offlineNote = h('p', { class: 'note note-warn', hidden: isOnline() }, '当前离线，连接网络后才能登录');

  const form = h(
    'form',
    { class: 'login-form', novalidate: true, onsubmit: (event) => submitForm(event) },
    notice ? h('p', { class: 'note note-info', role: 'status' }, notice) : null,
    offlineNote,
    message,
    h('div', { class: 'field' },
      h('label', { for: 'username' }, '用户名'),
      usernameInput,
      usernameError,
    ),
    h('div', { class: 'field' },
      h('label', { for: 'password' }, '密码'),
      h('div', { class: 'input-with-action' }, passwordInput, showPassword),
      passwordError,
    ),
    submit,
  );

  const el = h(
    'div',
    { class: 'login-screen' },
    h('header', { class: 'login-hero' },
      h('img', { src: '/icons/icon.svg', alt: '', width: 72, height: 72, class: 'login-logo' }),
      h('h1', { tabindex: '-1' }, '网格连心'),
      h('p', {}, '网格化管理服务'),
    ),
    h('main', { class: 'login-card' }, form),
    h('footer', { class: 'login-footer' }, '忘记密码请联系社区管理员'),
  );

  const stopWatching = onNetworkChange((online) => {
    offlineNote.hidden = online;
  });

  function fieldError(input, errorEl, text) {
    errorEl.textContent = text || '';
    errorEl.hidden = !text;
    if (text) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', errorEl.id);
    } else {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
    }
  }

  function showMessage(text) {
    message.replaceChildren();
    if (text) message.append(text);
    message.hidden = !text;
  }

  function setBusy(value, label = '登录') {
    busy = value;
    submit.disabled = value;
    submit.setAttribute('aria-busy', String(value));
    submit.textContent = value ? '正在登录…' : label;
  }

  function lockFor(seconds, text) {
    clearInterval(lockTimer);
    let left = Math.max(1, Math.ceil(seconds));
    const countdown = h('span', { class: 'countdown' });
    showMessage(h('span', {}, text, h('br'), countdown));
    const tick = () => {
      countdown.textContent = `请等待 ${left} 秒后再试`;
      submit.disabled = true;
      submit.textContent = `请等待 ${left} 秒`;
      if (left-- <= 0) {
        clearInterval(lockTimer);
        lockTimer = null;
        countdown.textContent = '现在可以重新登录';
        submit.disabled = false;
        submit.textContent = '登录';
      }
    };
    tick();
    lockTimer = setInterval(tick, 1000);
  }

  async function submitForm(event) {
    event.preventDefault();
    if (busy || lockTimer) return; // a second tap while the first is in flight does nothing
    const name = usernameInput.value.trim();
    const password = passwordInput.value;
    fieldError(usernameInput, usernameError, name ? '' : '请输入用户名');
    fieldError(passwordInput, passwordError, password ? '' : '请输入密码');
    showMessage('');
    if (!name) return usernameInput.focus();
    if (!password) return passwordInput.focus();

    setBusy(true);
    try {
      const data = await request('POST', '/api/v1/auth/login', {
        auth: false,
        // the refresh token comes back as an HttpOnly cookie, out of reach of any script
        body: { username: name, password, refresh_cookie: true },
      });
      saveTokens(data);
      onLoggedIn(data.user);
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.code === 'account_locked') {
        lockFor(err.retryAfter || 60, err.message);
      } else if (err instanceof ApiError && err.code === 'validation_failed' && err.details) {
        fieldError(usernameInput, usernameError, (err.details.username || []).join('；'));
        fieldError(passwordInput, passwordError, (err.details.password || []).join('；'));
        showMessage(err.message);
      } else if (err instanceof ApiError || err instanceof NetworkError) {
        showMessage(err.message);
        if (err.code === 'invalid_credentials') {
          passwordInput.value = '';
          passwordInput.focus();
        }
      } else {
        showMessage('登录失败，请稍后重试');
        throw err;
      }
    }
  }

  return {
    el,
    dispose() {
      clearInterval(lockTimer);
      stopWatching();
    },
  };
}
