// The playground: GraphiQL plus a login form. The access token lives in this page's memory
// only (not in storage), so closing the tab logs out; every request carries it as a bearer
// token, after any headers typed into GraphiQL's Headers tab.
(function () {
  'use strict';
  let token = null;

  async function post(body, headers) {
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: Object.assign(
        {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
        },
        token ? { authorization: 'Bearer ' + token } : {},
        headers || {},
      ),
      body: JSON.stringify(body),
    });
    return response.json();
  }

  const who = document.getElementById('who');
  const form = document.getElementById('login');
  const logout = document.getElementById('logout-button');

  function show(text, isError) {
    who.textContent = text;
    who.className = isError ? 'error' : '';
  }

  function setSession(session) {
    token = session ? session.accessToken : null;
    const loggedIn = token !== null;
    for (const id of ['email', 'password', 'login-button']) {
      document.getElementById(id).hidden = loggedIn;
    }
    logout.hidden = !loggedIn;
    if (!loggedIn) {
      show('Not logged in');
    } else if (session.user) {
      show('Logged in as ' + session.user.displayName + ' <' + session.user.email + '> (' + session.user.role + ')');
    } else {
      show('Logged in');
    }
  }

  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    const password = document.getElementById('password');
    try {
      const answer = await post({
        query: 'mutation Login($input: LoginInput!) { login(input: $input) { accessToken user { displayName email role } } }',
        variables: { input: { email: document.getElementById('email').value, password: password.value } },
      });
      password.value = '';
      if (answer.errors || !answer.data) {
        show('Login failed: ' + (answer.errors ? answer.errors[0].message : 'no answer'), true);
        return;
      }
      setSession(answer.data.login);
    } catch (error) {
      show('Login failed: ' + error.message, true);
    }
  });
  logout.addEventListener('click', function () { setSession(null); });

  const fetcher = function (params, options) {
    return post(params, options && options.headers);
  };
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, { fetcher: fetcher, defaultEditorToolsVisibility: false }),
  );
})();
