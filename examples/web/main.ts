/**
 * The todo app's page: plain DOM over the replica (replica.ts). It renders the list, the sync
 * state and the conflicts whenever the replica changes, and turns clicks into events. The sync
 * server's URL comes from `<meta name="sync-kit-server">` (the page server writes it) or the
 * `server` query parameter; `?db=` picks another database (another device in one browser), and
 * `?token=…&tenant=…` sign in to a server started with `--auth-tokens`.
 *
 * @module
 */
import { addTodo, cleanTitle, deleteTodo, renameTodo, setDone } from './todos.js'
import type { Todo } from './todos.js'
import { openReplica } from './replica.js'
import type { Replica } from './replica.js'

const $ = <TElement extends HTMLElement>(id: string): TElement => {
  const element = document.getElementById(id)
  if (element === null) throw new Error(`the page has no #${id}`)
  return element as TElement
}

function showError(text: string): void {
  $('last-error').hidden = false
  $('last-error').textContent = text
}

/** Runs an edit; one the store refused (quota, a closed database) is shown, not lost silently. */
function act(edit: Promise<unknown>): void {
  edit.catch((error: unknown) => {
    showError(`Not saved: ${error instanceof Error ? error.message : String(error)}`)
  })
}

function syncUrl(): string {
  const query = new URLSearchParams(location.search).get('server')
  const meta = document.querySelector<HTMLMetaElement>('meta[name="sync-kit-server"]')?.content
  const url = query ?? meta ?? ''
  // Opened from a plain file server, the placeholder is still there: the default `sync-kit serve`.
  return url === '' || url.startsWith('%') ? 'http://127.0.0.1:8787' : url
}

function render(replica: Replica): void {
  const status = replica.status()
  const network = $('network')
  network.dataset['state'] = status.network
  network.textContent =
    status.network === 'online'
      ? 'online · synced'
      : status.network === 'unreachable'
        ? 'online · server unreachable'
        : status.network === 'refused'
          ? 'online · refused by the server'
          : status.network
  const pending = $('pending')
  pending.dataset['count'] = String(status.pending)
  pending.textContent = `${status.pending} pending`
  $('tab-role').textContent = replica.syncing ? 'this tab syncs' : 'another tab syncs'
  $('tab-role').dataset['syncing'] = String(replica.syncing)
  const error = $('last-error')
  error.hidden = status.lastError === undefined
  error.textContent = status.lastError === undefined ? '' : `Last error: ${status.lastError}`
  renderTodos(replica, replica.todos())
  $('conflicts-section').hidden = status.conflicts.length === 0
  $('conflicts').replaceChildren(
    ...status.conflicts.map((note) => {
      const item = document.createElement('li')
      item.dataset['aggregateId'] = note.aggregateId
      item.textContent = `“${replica.titleOf(note.aggregateId) ?? note.aggregateId}”: ${note.text}`
      return item
    }),
  )
}

function renderTodos(replica: Replica, todos: readonly Todo[]): void {
  const list = $('todos')
  // A title being edited stays as it is until the edit ends.
  if (list.querySelector('input.edit') !== null) return
  list.replaceChildren(
    ...todos.map((todo) => {
      const item = document.createElement('li')
      item.dataset['id'] = todo.id
      item.dataset['done'] = String(todo.done)
      const box = document.createElement('input')
      box.type = 'checkbox'
      box.checked = todo.done
      box.ariaLabel = `done: ${todo.title}`
      box.onchange = () => act(replica.record(setDone(todo.id, box.checked)))
      const title = document.createElement('span')
      title.className = 'title'
      title.textContent = todo.title
      const rename = button('Rename', () => startRename(replica, item, todo))
      const remove = button('Delete', () => act(replica.record(deleteTodo(todo.id))))
      item.append(box, title, rename, remove)
      return item
    }),
  )
}

function startRename(replica: Replica, item: HTMLLIElement, todo: Todo): void {
  const input = document.createElement('input')
  input.type = 'text'
  input.className = 'edit'
  input.value = todo.title
  input.ariaLabel = `rename: ${todo.title}`
  let done = false
  const finish = (save: boolean): void => {
    if (done) return
    done = true
    input.remove()
    const title = cleanTitle(input.value)
    if (save && title !== '' && title !== todo.title) {
      act(replica.record(renameTodo(todo.id, title)).finally(() => render(replica)))
    } else render(replica)
  }
  input.onkeydown = (event) => {
    if (event.key === 'Enter') finish(true)
    if (event.key === 'Escape') finish(false)
  }
  input.onblur = () => finish(true)
  item.querySelector('.title')?.replaceWith(input)
  input.focus()
  input.select()
}

function button(label: string, onClick: () => void): HTMLButtonElement {
  const element = document.createElement('button')
  element.type = 'button'
  element.textContent = label
  element.onclick = onClick
  return element
}

async function main(): Promise<void> {
  const server = syncUrl()
  $('server').textContent = server
  const query = new URLSearchParams(location.search)
  const name = query.get('db') ?? 'sync-kit-todos'
  // A real app has a sign-in; the demo takes a token of `sync-kit serve --auth-tokens` and its
  // tenant from the URL.
  const token = query.get('token')
  const tenant = query.get('tenant')
  const replica = await openReplica({
    name,
    syncUrl: server,
    ...(token === null ? {} : { token }),
    ...(tenant === null ? {} : { tenant }),
  })
  $('replica').textContent = replica.replicaId
  replica.onChange(() => render(replica))
  $<HTMLFormElement>('add').onsubmit = (event) => {
    event.preventDefault()
    const input = $<HTMLInputElement>('new-title')
    const title = cleanTitle(input.value)
    if (title === '') return
    input.value = ''
    act(replica.record(addTodo(title, Date.now())))
  }
  render(replica)
  document.body.dataset['ready'] = 'true'
}

// The page loads offline too: its files come from the service worker's cache.
if ('serviceWorker' in navigator) void navigator.serviceWorker.register('./sw.js')
main().catch((error: unknown) => {
  showError(`The app could not start: ${error instanceof Error ? error.message : String(error)}`)
})
