# Deletions are audited write-ahead: an attempt record, then an outcome record that points to it.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('conversations', '0004_review_roles'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditrecord',
            name='attempt',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='resolution', to='conversations.auditrecord'),
        ),
        migrations.AddField(
            model_name='auditrecord',
            name='conversation_ids',
            field=models.TextField(blank=True),
        ),
        migrations.AlterField(
            model_name='auditrecord',
            name='outcome',
            field=models.CharField(choices=[('attempted', 'Attempted'), ('deleted', 'Deleted'), ('already_gone', 'Already gone'), ('failed', 'Failed'), ('not_attempted', 'Not attempted'), ('denied', 'Denied'), ('exported', 'Exported')], max_length=20),
        ),
    ]
