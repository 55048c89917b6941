// directus-chat's room rules that permission rules cannot express (they cannot look anything
// up): who may join or add whom, and what a direct message is. Installed by `cargo xtask`
// into the server's EXTENSIONS_PATH; tested in xtask/tests/rooms.rs against a real Directus.
//
// - A member joins a public channel only as themselves.
// - A private channel's members are added by its creator, who must be in it.
// - A DM has exactly its two people, keyed "<smaller id>:<larger id>": the unique `dm_key`
//   (rebuilt here, never taken as sent) allows one DM per pair even against two at once.
// - The creator of a room and the two people of a DM may always (re)join it: the members a
//   create adds come after the create's transaction and could be missing.
// - One row per room and user: the unique `member_key` ("<room>:<user>") is filled in here.
// - Public channel names are unique whatever the case (checked on create); names are at most
//   80 characters.
// - Nobody leaves `general` (the public channel everyone is in; the chat posts there), and
//   whoever is given the chat policy in the admin app (directly, or through a role, also a
//   user given such a role later) joins it at once.
// - A REST socket (/websocket) whose token expired (or whose re-authentication failed) has
//   Public rights, that is none: Directus 11.x sets its accountability to null, which its
//   services take for the system itself, until AUTH_TIMEOUT closes it 10 s later (12.x demotes
//   it to Public). The GraphQL socket emits no websocket.connect: the tooling turns it off
//   (WEBSOCKETS_GRAPHQL_ENABLED=false), and so should any deployment of the chat on 11.x.
// - Files: a message's `files` lists ids of files its author uploaded (whole) into its room
//   and attached to no other message (at most 10); what is stored there is read from the
//   files' records (name and type as uploaded, size and pixels as Directus measured them),
//   not taken from the message. Deleting a message deletes its files. Members never have the
//   server fetch a URL for them (`POST /files/import`): only admins may.
// - A socket's own access as a bearer token ({"type":"chat-access"} on the REST socket): the
//   chat fetches pictures and uploads files over REST, but a socket authenticated with a
//   refresh token never learns an access token, and refreshing over REST would rotate the
//   token the socket and the other tabs hold. The token is the socket's: its user and role,
//   its expiry; a socket without a user (never authenticated, or its token expired) gets none.
// Requests by the system (no accountability: the tooling's inserts, this hook's own) and by
// admins skip the membership rules (their memberships still get their member_key); anonymous
// ones are refused.

import { createHmac } from 'node:crypto';

function refuse(message, status = 403, code = 'FORBIDDEN') {
	const error = new Error(message);
	error.name = 'DirectusError';
	error.status = status;
	error.code = code;
	error.extensions = {};
	return error;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_NAME = 80;

/** The member the rules apply to; null for the system and admins. */
function member(accountability) {
	if (!accountability || accountability.admin) return null;
	if (!accountability.user) throw refuse('Log in first.', 401, 'INVALID_CREDENTIALS');
	return accountability.user.toLowerCase();
}

function isPrivate(room) {
	return !(room.private === false || room.private === 0 || room.private === '0');
}

const CHAT_POLICY = 'Chat members';
const MAX_FILES = 10;
/** `directus_files.chat_message` of a file taken by a message being created. */
const CLAIMED = -1;

/** A Directus access token (HS256, issuer "directus"), as its login would sign it. */
function accessToken(claims, secret) {
	const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
	const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ ...claims, iss: 'directus' })}`;
	return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

export default ({ filter, action, init }, { services, getSchema, database, env }) => {
	/** Everyone in `users` joins general (as the system; already a member is fine). */
	async function joinGeneral(users) {
		const general = await database('rooms')
			.where({ name: 'general', kind: 'channel' })
			.whereIn('private', [false, 0])
			.orderBy('date_created')
			.first('id');
		if (!general || users.length === 0) return;
		const service = new services.ItemsService('room_members', { schema: await getSchema(), accountability: null });
		for (const user of users) {
			const already = await database('room_members').where({ room: general.id, user }).first('id');
			if (already) continue;
			try {
				await service.createOne({ room: general.id, user });
			} catch (error) {
				if (error?.code !== 'RECORD_NOT_UNIQUE') console.error(`chat-rooms: could not add ${user} to general:`, error);
			}
		}
	}

	async function isChatPolicy(policy) {
		if (typeof policy !== 'string') return false;
		const found = await database('directus_policies').where({ id: policy }).first('name');
		return found?.name === CHAT_POLICY;
	}

	async function roleHasChatPolicy(role) {
		if (typeof role !== 'string') return false;
		const found = await database('directus_access')
			.join('directus_policies', 'directus_policies.id', 'directus_access.policy')
			.where({ 'directus_access.role': role, 'directus_policies.name': CHAT_POLICY })
			.first('directus_access.id');
		return Boolean(found);
	}

	action('access.create', async ({ payload }) => {
		if (!(await isChatPolicy(payload?.policy))) return;
		if (typeof payload.user === 'string') return joinGeneral([payload.user]);
		if (typeof payload.role === 'string') {
			const users = await database('directus_users').where({ role: payload.role }).select('id');
			return joinGeneral(users.map((u) => u.id));
		}
	});

	for (const event of ['users.create', 'users.update']) {
		action(event, async ({ key, keys, payload }) => {
			if (!(await roleHasChatPolicy(payload?.role))) return;
			return joinGeneral(keys ?? [key]);
		});
	}

	filter('room_members.items.create', async (payload, _meta, { database, accountability }) => {
		const me = member(accountability);
		const room = typeof payload?.room === 'string' ? payload.room.toLowerCase() : null;
		const user = typeof payload?.user === 'string' ? payload.user.toLowerCase() : null;
		if (!room || !UUID.test(room) || !user || !UUID.test(user)) {
			throw refuse('A membership names a room and a user by id.', 400, 'INVALID_PAYLOAD');
		}
		const checkedPayload = { ...payload, room, user, member_key: `${room}:${user}` };
		if (!me) return checkedPayload;
		const found = await database('rooms').where({ id: room }).first('kind', 'private', 'user_created', 'dm_key');
		if (!found) throw refuse('No such room.');
		const creator = String(found.user_created ?? '').toLowerCase() === me;
		if (found.kind === 'dm') {
			const pair = String(found.dm_key ?? '').split(':');
			if (user !== me || !pair.includes(me)) {
				throw refuse('A direct message is for its two people only.');
			}
		} else if (!isPrivate(found)) {
			if (user !== me) throw refuse('You can join a public channel only as yourself.');
		} else if (!(creator && user === me)) {
			const inIt = await database('room_members').where({ room, user: me }).first('id');
			if (!creator || !inIt) throw refuse('Only the creator of a private channel adds its members.');
		}
		const already = await database('room_members').where({ room, user }).first('id');
		if (already) throw refuse('Already a member of this room.', 400, 'RECORD_NOT_UNIQUE');
		const exists = await database('directus_users').where({ id: user }).first('id');
		if (!exists) throw refuse('No such user.', 400, 'INVALID_PAYLOAD');
		return checkedPayload;
	});

	filter('room_members.items.delete', async (keys, _meta, { database, accountability }) => {
		if (!member(accountability)) return keys;
		const general = await database('room_members')
			.join('rooms', 'rooms.id', 'room_members.room')
			.whereIn('room_members.id', keys)
			.where({ 'rooms.name': 'general', 'rooms.kind': 'channel' })
			.whereIn('rooms.private', [false, 0])
			.first('room_members.id');
		if (general) throw refuse('Everyone stays in general.');
		return keys;
	});

	filter('rooms.items.create', async (payload, _meta, { database, accountability }) => {
		const me = member(accountability);
		if (!me) return payload;
		const kind = payload?.kind ?? 'channel';
		if (payload?.private !== undefined && typeof payload.private !== 'boolean') {
			throw refuse('private is true or false.', 400, 'INVALID_PAYLOAD');
		}
		if (kind === 'channel') {
			if (payload.dm_key != null) throw refuse('A channel has no dm_key.', 400, 'INVALID_PAYLOAD');
			const name = typeof payload.name === 'string' ? payload.name.trim() : '';
			if (!name || name.length > MAX_NAME) {
				throw refuse(`A channel needs a name of 1 to ${MAX_NAME} characters.`, 400, 'INVALID_PAYLOAD');
			}
			// Only public names must be unique (the chat finds `general` by name); asking
			// about a private one would tell its name to whoever asks.
			if (payload.private === false) {
				const taken = await database('rooms')
					.where({ kind: 'channel' })
					.whereIn('private', [false, 0])
					.whereRaw('lower(name) = ?', [name.toLowerCase()])
					.first('id');
				if (taken) throw refuse(`There is a public channel named ${name} already.`, 400, 'RECORD_NOT_UNIQUE');
			}
			return { ...payload, kind, name };
		}
		if (kind !== 'dm') throw refuse('A room is a channel or a dm.', 400, 'INVALID_PAYLOAD');
		const parts = typeof payload.dm_key === 'string' ? payload.dm_key.toLowerCase().split(':') : [];
		if (parts.length !== 2 || !parts.every((p) => UUID.test(p)) || !parts.includes(me) || parts[0] === parts[1]) {
			throw refuse('A DM is keyed "<user id>:<user id>", one of them yours and one not.', 400, 'INVALID_PAYLOAD');
		}
		const other = parts[0] === me ? parts[1] : parts[0];
		const exists = await database('directus_users').where({ id: other }).first('id');
		if (!exists) throw refuse('No such user.', 400, 'INVALID_PAYLOAD');
		const dm_key = [me, other].sort().join(':');
		return { ...payload, kind: 'dm', name: '', private: true, dm_key };
	});

	action('rooms.items.create', async ({ key, payload }, { accountability }) => {
		// The tooling and admins add members themselves.
		if (!accountability || accountability.admin || !accountability.user) return;
		const members = payload.kind === 'dm' ? payload.dm_key.split(':') : [accountability.user];
		const schema = await getSchema();
		// As the system (no accountability): these pass the membership filter unchecked, and
		// their create events reach the members' subscriptions. One by one: a member who
		// joined meanwhile does not keep the other out.
		const service = new services.ItemsService('room_members', { schema, accountability: null });
		for (const user of members) {
			try {
				await service.createOne({ room: key, user });
			} catch (error) {
				// Already a member (the unique member_key) is fine; anything else is told, and
				// they may still join themselves (see the membership filter).
				if (error?.code !== 'RECORD_NOT_UNIQUE') {
					console.error(`chat-rooms: could not add ${user} to room ${key}:`, error);
				}
			}
		}
	});

	filter('messages.items.create', async (payload, _meta, { database, accountability }) => {
		if (payload?.files == null) return payload;
		const me = member(accountability);
		const ids = Array.isArray(payload.files)
			? payload.files.map((f) => (typeof f === 'string' ? f : f?.id)).map((id) => (typeof id === 'string' ? id.toLowerCase() : null))
			: [];
		if (ids.length === 0 || ids.length > MAX_FILES || !ids.every((id) => id && UUID.test(id)) || new Set(ids).size !== ids.length) {
			throw refuse(`files lists 1 to ${MAX_FILES} different file ids.`, 400, 'INVALID_PAYLOAD');
		}
		// A create retried after a lost reply: its files were claimed by the first one. It is
		// refused as a duplicate key, as any retried create is (what the chat looks up).
		if (payload.client_key != null && typeof payload.client_key !== 'string') {
			throw refuse('client_key is a string.', 400, 'INVALID_PAYLOAD');
		}
		const duplicate = async () => {
			if (typeof payload.client_key !== 'string') return null;
			const found = await database('messages').where({ client_key: payload.client_key }).first('id');
			return found ? refuse(`Value "${payload.client_key}" for field "client_key" in collection "messages" has to be unique.`, 400, 'RECORD_NOT_UNIQUE') : null;
		};
		const retried = await duplicate();
		if (retried) throw retried;
		if (payload.room != null && typeof payload.room !== 'string') {
			throw refuse('A message with files names its room by id.', 400, 'INVALID_PAYLOAD');
		}
		let room = payload.room?.toLowerCase() ?? null;
		if (!room) {
			// No room named: the message goes to general (the field's default).
			const general = await database('rooms').where({ name: 'general', kind: 'channel' }).whereIn('private', [false, 0]).orderBy('date_created').first('id');
			room = String(general?.id ?? '').toLowerCase();
		}
		const rows = await database('directus_files')
			.whereIn('id', ids)
			.select('id', 'filename_download', 'type', 'filesize', 'width', 'height', 'uploaded_by', 'room', 'chat_message', 'uploaded_on');
		const byId = new Map(rows.map((row) => [String(row.id).toLowerCase(), row]));
		const files = ids.map((id) => {
			const row = byId.get(id);
			if (!row) throw refuse(`No such file: ${id}.`, 400, 'INVALID_PAYLOAD');
			if (me && String(row.uploaded_by ?? '').toLowerCase() !== me) throw refuse('Only your own uploads can be attached.');
			if (String(row.room ?? '').toLowerCase() !== room) throw refuse('A file goes with a message of the room it was uploaded into.');
			if (row.chat_message != null) throw refuse('That file is attached to another message.');
			// A record made without its bytes (a JSON create), or one still being written.
			if (row.uploaded_on == null || !(Number(row.filesize) > 0)) throw refuse('That file has not been uploaded.', 400, 'INVALID_PAYLOAD');
			const pixels = (n) => (Number.isInteger(Number(n)) && Number(n) > 0 ? Number(n) : null);
			return { id: row.id, name: row.filename_download ?? '', type: row.type ?? '', size: Number(row.filesize ?? 0), width: pixels(row.width), height: pixels(row.height) };
		});
		// Claimed in the create's own transaction: of two creates naming one file, one gets
		// it; a create refused later gives it back (the claim is rolled back with it).
		const claimed = await database('directus_files').whereIn('id', ids).whereNull('chat_message').update({ chat_message: CLAIMED });
		if (claimed !== ids.length) {
			// Lost to a create of the same key that committed meanwhile: a duplicate, as above.
			throw (await duplicate()) ?? refuse('That file is attached to another message.');
		}
		return { ...payload, files };
	});

	// The files are the message's now, and go with it (its id is known only after the create).
	action('messages.items.create', async ({ key, payload }, { database }) => {
		if (!Array.isArray(payload?.files) || payload.files.length === 0) return;
		const ids = payload.files.map((f) => String(typeof f === 'string' ? f : f?.id).toLowerCase());
		await database('directus_files').whereIn('id', ids).where({ chat_message: CLAIMED }).update({ chat_message: key });
	});

	// A message's files, read before it goes (its `files` names them, whether or not the
	// create's action has marked them yet), deleted once it went: only its author's uploads.
	const filesOfDeleted = new Map();
	filter('messages.items.delete', async (keys, _meta, { database }) => {
		const rows = await database('messages').whereIn('id', (keys ?? []).map(Number).filter(Number.isInteger)).select('id', 'files', 'user_created');
		for (const row of rows) {
			let files = row.files;
			if (typeof files === 'string') {
				try {
					files = JSON.parse(files);
				} catch {
					files = null;
				}
			}
			const ids = Array.isArray(files) ? files.map((f) => String(f?.id ?? '').toLowerCase()).filter((id) => UUID.test(id)) : [];
			if (ids.length > 0) filesOfDeleted.set(String(row.id), { ids, author: row.user_created });
		}
		return keys;
	});

	action('messages.items.delete', async ({ keys }) => {
		const messages = (keys ?? []).map(String);
		const taken = messages.flatMap((key) => {
			const entry = filesOfDeleted.get(key);
			filesOfDeleted.delete(key);
			return entry ? [entry] : [];
		});
		if (taken.length === 0) return;
		const files = [];
		for (const { ids, author } of taken) {
			files.push(...(await database('directus_files').whereIn('id', ids).where({ uploaded_by: author }).select('id')));
		}
		if (files.length === 0) return;
		// As the system: the files leave storage too, and their delete events go out.
		const service = new services.FilesService({ schema: await getSchema(), accountability: null });
		try {
			await service.deleteMany(files.map((f) => f.id));
		} catch (error) {
			console.error(`chat-rooms: could not delete the files of messages ${messages.join(', ')}:`, error);
		}
	});

	// Importing makes the server fetch any address it can reach (and it takes no size limit):
	// not for members. Routes are added before Directus's own, after authentication.
	// (GraphQL's system endpoint offers it as the `import_file` mutation.)
	init('routes.before', ({ app }) => {
		const refuse = (res) =>
			res.status(403).json({ errors: [{ message: 'Only admins import files from an address.', extensions: { code: 'FORBIDDEN' } }] });
		// Express routes match without regard to case or a trailing slash, as Directus's do.
		app.post('/files/import', (req, res, next) => (req.accountability?.admin ? next() : refuse(res)));
		app.use('/graphql/system', (req, res, next) => {
			const asked = `${JSON.stringify(req.body ?? {})} ${JSON.stringify(req.query ?? {})}`;
			return req.accountability?.admin || !asked.includes('import_file') ? next() : refuse(res);
		});
	});

	action('websocket.message', ({ message, client }) => {
		if (message?.type !== 'chat-access') return;
		const uid = message.uid;
		const reply = (body) => client.send(JSON.stringify({ type: 'chat-access', ...body, ...(uid === undefined ? {} : { uid }) }));
		const who = client.accountability;
		const now = Math.floor(Date.now() / 1000);
		// The socket's own expiry (a static token has none: then a quarter of an hour).
		const expires = Number(client.expires_at ?? now + 15 * 60);
		if (!who?.user || !env.SECRET || !(expires > now)) {
			return reply({ status: 'error', error: { code: 'FORBIDDEN', message: 'Authenticate the socket first.' } });
		}
		const claims = { id: who.user, role: who.role ?? null, app_access: Boolean(who.app), admin_access: Boolean(who.admin), iat: now, exp: expires };
		// A socket of a cookie session: its token dies with that session, as Directus's own.
		if (who.session) claims.session = who.session;
		reply({ status: 'ok', access_token: accessToken(claims, env.SECRET), expires_at: expires, expires_in: expires - now });
	});

	// See the header: null on a live socket becomes Public rights (what 12.x sets), keeping
	// where the connection came from. Every later assignment goes through this setter.
	action('websocket.connect', ({ client }) => {
		const publicRights = (was) => ({
			role: null,
			user: null,
			roles: [],
			admin: false,
			app: false,
			ip: was?.ip ?? null,
			userAgent: was?.userAgent,
			origin: was?.origin,
		});
		let current = client.accountability ?? publicRights(null);
		Object.defineProperty(client, 'accountability', {
			configurable: true,
			enumerable: true,
			get: () => current,
			set: (value) => {
				current = value ?? publicRights(current);
			},
		});
	});
};
