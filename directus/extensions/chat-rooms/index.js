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
// Requests by the system (no accountability: the tooling's inserts, this hook's own) and by
// admins skip the membership rules (their memberships still get their member_key); anonymous
// ones are refused.

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

export default ({ filter, action }, { services, getSchema, database }) => {
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
