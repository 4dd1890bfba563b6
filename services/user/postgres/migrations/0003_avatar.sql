-- A user's avatar: the id of an image file of purpose avatar that the user
-- uploaded; the file service made it public when it was attached. NULL:
-- no avatar.
ALTER TABLE users ADD COLUMN avatar_file_id uuid;
