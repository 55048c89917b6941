// directus-chat's room rules that permission rules cannot express (they cannot look anything
// up): who may join or add whom, and what a direct message is. Installed by `cargo xtask`
// into the server's EXTENSIONS_PATH; tested in xtask/tests/rooms.rs against a real Directus.
//
// - A member joins a public channel only as themselves.
// - A private channel's members are added by its creator, who must be in it.
// - A DM has exactly two members, set when it is created; at most one DM per pair (the
//   unique `dm_key`, "<smaller id>:<larger id>", holds that even against two at once).
// - Channel names are unique among channels, whatever the case.
// - The creator of a channel is its first member; both people of a DM are its members.
// Requests without accountability (the tooling's admin work, this hook's own inserts) and by
// admins pass unchecked.

function refuse(message, status = 403, code = 'FORBIDDEN') {
	const error = new Error(message);
	error.name = 'DirectusError';
	error.status = status;
	error.code = code;
	error.extensions = {};
	return error;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checked(accountability) {
	return accountability && accountability.user && !accountability.admin;
}

export default ({ filter, action }, { services, getSchema }) => {
	filter('room_members.items.create', async (payload, _meta, { database, accountability }) => {
		if (!checked(accountability)) return payload;
		const me = accountability.user;
		const { room, user } = payload ?? {};
		if (typeof room !== 'string' || !UUID.test(room) || typeof user !== 'string' || !UUID.test(user)) {
			throw refuse('A membership names a room and a user by id.', 400, 'INVALID_PAYLOAD');
		}
		const found = await database('rooms').where({ id: room }).first('kind', 'private', 'user_created');
		if (!found) throw refuse('No such room.');
		if (found.kind === 'dm') throw refuse('The members of a direct message are set when it is created.');
		const isPrivate = found.private === true || found.private === 1 || found.private === '1';
		if (!isPrivate && user !== me) throw refuse('You can join a public channel only as yourself.');
		if (isPrivate) {
			const mine = found.user_created === me;
			const inIt = await database('room_members').where({ room, user: me }).first('id');
			if (!mine || !inIt) throw refuse('Only the creator of a private channel adds its members.');
		}
		const already = await database('room_members').where({ room, user }).first('id');
		if (already) throw refuse('Already a member of this room.', 400, 'RECORD_NOT_UNIQUE');
		const exists = await database('directus_users').where({ id: user }).first('id');
		if (!exists) throw refuse('No such user.', 400, 'INVALID_PAYLOAD');
		return payload;
	});

	filter('rooms.items.create', async (payload, _meta, { database, accountability }) => {
		if (!checked(accountability)) return payload;
		const me = accountability.user;
		const kind = payload?.kind ?? 'channel';
		if (kind === 'channel') {
			if (payload.dm_key != null) throw refuse('A channel has no dm_key.', 400, 'INVALID_PAYLOAD');
			const name = typeof payload.name === 'string' ? payload.name.trim() : '';
			if (!name) throw refuse('A channel needs a name.', 400, 'INVALID_PAYLOAD');
			const taken = await database('rooms')
				.where({ kind: 'channel' })
				.whereRaw('lower(name) = ?', [name.toLowerCase()])
				.first('id');
			if (taken) throw refuse(`There is a channel named ${name} already.`, 400, 'RECORD_NOT_UNIQUE');
			return { ...payload, name };
		}
		if (kind !== 'dm') throw refuse('A room is a channel or a dm.', 400, 'INVALID_PAYLOAD');
		const key = typeof payload.dm_key === 'string' ? payload.dm_key : '';
		const [a, b] = key.split(':');
		const other = a === me ? b : b === me ? a : null;
		if (!other || !UUID.test(other) || other === me || a > b) {
			throw refuse('A DM is keyed "<smaller user id>:<larger user id>", one of them yours.', 400, 'INVALID_PAYLOAD');
		}
		const exists = await database('directus_users').where({ id: other }).first('id');
		if (!exists) throw refuse('No such user.', 400, 'INVALID_PAYLOAD');
		return { ...payload, kind: 'dm', name: '', private: true };
	});

	action('rooms.items.create', async ({ key, payload }, { accountability }) => {
		// The tooling and admins add members themselves.
		if (!checked(accountability)) return;
		const members = payload.kind === 'dm' ? payload.dm_key.split(':') : [accountability.user];
		const schema = await getSchema();
		// As the system (no accountability): these pass the membership filter unchecked, and
		// their create events reach the members' subscriptions.
		const service = new services.ItemsService('room_members', { schema, accountability: null });
		await service.createMany(members.map((user) => ({ room: key, user })));
	});
};
