# The conversation index, kept current by the worker (conversations/sync.py).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('conversations', '0005_audit_write_ahead'),
    ]

    operations = [
        migrations.CreateModel(
            name='SyncState',
            fields=[
                ('name', models.CharField(max_length=40, primary_key=True, serialize=False)),
                ('cursor', models.TextField(blank=True)),
                ('finished', models.BooleanField(default=False)),
                ('seen', models.PositiveIntegerField(default=0)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'default_permissions': (),
            },
        ),
        migrations.AlterField(
            model_name='auditrecord',
            name='outcome',
            field=models.CharField(choices=[('attempted', 'Attempted'), ('deleted', 'Deleted'), ('already_gone', 'Already gone'), ('failed', 'Failed'), ('not_attempted', 'Not attempted'), ('denied', 'Denied'), ('exported', 'Exported'), ('found_gone', 'Found gone')], max_length=20),
        ),
        migrations.CreateModel(
            name='IndexedConversation',
            fields=[
                ('conversation_id', models.CharField(max_length=128, primary_key=True, serialize=False)),
                ('agent_id', models.CharField(blank=True, max_length=128)),
                ('agent_name', models.CharField(blank=True, max_length=200)),
                ('start_time', models.DateTimeField(blank=True, null=True)),
                ('duration', models.FloatField(blank=True, null=True)),
                ('status', models.CharField(blank=True, max_length=40)),
                ('final', models.BooleanField(default=False)),
                ('outcome', models.CharField(blank=True, max_length=10)),
                ('title', models.CharField(blank=True, max_length=300)),
                ('summary', models.TextField(blank=True)),
                ('message_count', models.PositiveIntegerField(default=0)),
                ('has_audio', models.BooleanField(default=False)),
                ('detailed', models.BooleanField(default=False)),
                ('version', models.CharField(blank=True, max_length=64)),
                ('indexed_at', models.DateTimeField()),
            ],
            options={
                'default_permissions': (),
                'indexes': [models.Index(fields=['-start_time', '-conversation_id'], name='index_by_start'), models.Index(fields=['agent_id', '-start_time'], name='index_by_agent'), models.Index(fields=['outcome', '-start_time'], name='index_by_outcome'), models.Index(fields=['duration'], name='index_by_duration'), models.Index(fields=['final', 'indexed_at'], name='index_not_final')],
            },
        ),
        migrations.CreateModel(
            name='IndexedEvaluation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('criterion', models.CharField(max_length=200)),
                ('result', models.CharField(blank=True, max_length=10)),
                ('score', models.FloatField(blank=True, null=True)),
                ('rationale', models.TextField(blank=True)),
                ('conversation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='evaluations', to='conversations.indexedconversation')),
            ],
            options={
                'default_permissions': (),
                'indexes': [models.Index(fields=['criterion', 'result'], name='index_by_criterion')],
                'constraints': [models.UniqueConstraint(fields=('conversation', 'criterion'), name='one_result_per_criterion')],
            },
        ),
        migrations.CreateModel(
            name='IndexedTurn',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.PositiveIntegerField()),
                ('speaker', models.CharField(max_length=40)),
                ('offset', models.FloatField(blank=True, null=True)),
                ('text', models.TextField()),
                ('conversation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='turns', to='conversations.indexedconversation')),
            ],
            options={
                'ordering': ['conversation', 'position'],
                'default_permissions': (),
                'constraints': [models.UniqueConstraint(fields=('conversation', 'position'), name='one_turn_per_place')],
            },
        ),
        migrations.CreateModel(
            name='IndexedValue',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=200)),
                ('value', models.JSONField(blank=True, null=True)),
                ('text', models.CharField(blank=True, max_length=200)),
                ('conversation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='values', to='conversations.indexedconversation')),
            ],
            options={
                'default_permissions': (),
                'indexes': [models.Index(fields=['key', 'text'], name='index_by_value')],
                'constraints': [models.UniqueConstraint(fields=('conversation', 'key'), name='one_value_per_key')],
            },
        ),
    ]
